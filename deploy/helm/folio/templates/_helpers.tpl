{{/* The chart's name, cut to Kubernetes' 63 characters. */}}
{{- define "folio.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name. */}}
{{- define "folio.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "folio.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "folio.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: folio
{{- end -}}

{{/* Selector labels of one role: pass (dict "root" $ "role" "worker"). */}}
{{- define "folio.selector" -}}
app.kubernetes.io/name: {{ include "folio.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "folio.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The environment every role gets: URLs and credentials from the operator's Secrets, the settings file. */}}
{{- define "folio.env" -}}
- name: FOLIO_CONFIG
  value: /etc/folio/folio.toml
- name: FOLIO_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret is required" .Values.database.existingSecret }}
      key: {{ .Values.database.urlKey }}
- name: FOLIO_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "queue.existingSecret is required" .Values.queue.existingSecret }}
      key: {{ .Values.queue.urlKey }}
- name: FOLIO_QUEUE_URL
  value: "$(FOLIO_BROKER_URL)?queue={{ .Values.queue.name }}"
- name: FOLIO_BLOB_URL
  value: {{ .Values.objectStorage.url | quote }}
{{- if .Values.objectStorage.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.objectStorage.existingSecret }}
      key: {{ .Values.objectStorage.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.objectStorage.existingSecret }}
      key: {{ .Values.objectStorage.secretAccessKeyKey }}
{{- end }}
{{- if .Values.bundle.signingKeySecret }}
- name: FOLIO_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.bundle.signingKeySecret }}
      key: {{ .Values.bundle.signingKeyKey }}
{{- end }}
{{- if .Values.bundle.webhookUrl }}
- name: FOLIO_WEBHOOK_URL
  value: {{ .Values.bundle.webhookUrl | quote }}
{{- end }}
- name: FOLIO_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: FOLIO_LOG
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{/* Volumes of every role: the settings file, and /tmp. */}}
{{- define "folio.volumes" -}}
- name: settings
  configMap:
    name: {{ include "folio.fullname" . }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSize }}
{{- end -}}

{{- define "folio.volumeMounts" -}}
- name: settings
  mountPath: /etc/folio
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Pod-level settings shared by the roles. */}}
{{- define "folio.podCommon" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Probes on the health endpoints of `port`. */}}
{{- define "folio.probes" -}}
livenessProbe:
  httpGet:
    path: /livez
    port: {{ . }}
  periodSeconds: 10
  failureThreshold: 6
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ . }}
  periodSeconds: 5
  failureThreshold: 3
startupProbe:
  httpGet:
    path: /livez
    port: {{ . }}
  periodSeconds: 2
  failureThreshold: 60
{{- end -}}
