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

{{/* Where each role finds its secrets: files, mounted from the operator's Secrets (never environment variables,
     which `kubectl describe`, crash reports and child processes would see). */}}
{{- define "folio.secretDir" -}}/var/run/secrets/folio{{- end -}}

{{/* The secrets a role uses, and only those: pass (dict "root" $ "role" "worker"). The database for every role;
     the broker and object storage for the long-running ones; the API's tokens for the gateway; the signing key
     for the roles that assemble (gateway, coordinator); the webhook for the coordinator, which delivers it. */}}
{{- define "folio.secretSources" -}}
{{- $v := .root.Values -}}
- secret:
    name: {{ required "database.existingSecret is required" $v.database.existingSecret }}
    items: [{key: {{ $v.database.urlKey }}, path: database-url}]
{{- if ne .role "migrate" }}
- secret:
    name: {{ required "queue.existingSecret is required" $v.queue.existingSecret }}
    items: [{key: {{ $v.queue.urlKey }}, path: queue-url}]
{{- if $v.objectStorage.existingSecret }}
- secret:
    name: {{ $v.objectStorage.existingSecret }}
    items:
      - {key: {{ $v.objectStorage.accessKeyIdKey }}, path: aws-access-key-id}
      - {key: {{ $v.objectStorage.secretAccessKeyKey }}, path: aws-secret-access-key}
{{- end }}
{{- end }}
{{- if eq .role "gateway" }}
- secret:
    name: {{ required "gateway.tokensSecret is required" $v.gateway.tokensSecret }}
    items: [{key: {{ $v.gateway.tokensKey }}, path: gateway-tokens}]
{{- end }}
{{- if and $v.bundle.signingKeySecret (has .role (list "gateway" "coordinator")) }}
- secret:
    name: {{ $v.bundle.signingKeySecret }}
    items: [{key: {{ $v.bundle.signingKeyKey }}, path: signing-key}]
{{- end }}
{{- if and $v.bundle.webhookSecret (eq .role "coordinator") }}
- secret:
    name: {{ $v.bundle.webhookSecret }}
    items: [{key: {{ $v.bundle.webhookKey }}, path: webhook-url}]
{{- end }}
{{- end -}}

{{/* The environment of a role: where its settings and secret files are, the blob store, the log. */}}
{{- define "folio.env" -}}
{{- $v := .root.Values -}}
{{- $dir := include "folio.secretDir" . -}}
- name: FOLIO_CONFIG
  value: /etc/folio/folio.toml
- name: FOLIO_DATABASE_URL_FILE
  value: {{ $dir }}/database-url
{{- if ne .role "migrate" }}
- name: FOLIO_QUEUE_URL_FILE
  value: {{ $dir }}/queue-url
- name: FOLIO_BLOB_URL
  value: {{ $v.objectStorage.url | quote }}
{{- if $v.objectStorage.existingSecret }}
- name: AWS_ACCESS_KEY_ID_FILE
  value: {{ $dir }}/aws-access-key-id
- name: AWS_SECRET_ACCESS_KEY_FILE
  value: {{ $dir }}/aws-secret-access-key
{{- end }}
{{- end }}
{{- if eq .role "gateway" }}
- name: FOLIO_GATEWAY_TOKENS_FILE
  value: {{ $dir }}/gateway-tokens
{{- end }}
{{- if and $v.bundle.signingKeySecret (has .role (list "gateway" "coordinator")) }}
- name: FOLIO_SIGNING_KEY_FILE
  value: {{ $dir }}/signing-key
{{- end }}
{{- if and $v.bundle.webhookSecret (eq .role "coordinator") }}
- name: FOLIO_WEBHOOK_URL_FILE
  value: {{ $dir }}/webhook-url
{{- end }}
{{- if ne .role "migrate" }}
- name: FOLIO_HEALTH_ADDR
  value: "0.0.0.0:8081"
{{- end }}
- name: FOLIO_LOG_FORMAT
  value: {{ $v.logFormat | quote }}
- name: FOLIO_LOG
  value: {{ $v.logLevel | quote }}
{{- end -}}

{{/* Volumes of a role: the settings file, its secrets, the TLS files, and /tmp. */}}
{{- define "folio.volumes" -}}
{{- $v := .root.Values -}}
- name: settings
  configMap:
    name: {{ include "folio.fullname" .root }}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
      {{- include "folio.secretSources" . | nindent 6 }}
{{- if $v.tls.caBundle.secret }}
- name: tls-ca
  secret:
    secretName: {{ $v.tls.caBundle.secret }}
    defaultMode: 0444
    items: [{key: {{ $v.tls.caBundle.key }}, path: ca.crt}]
{{- end }}
{{- if $v.tls.clientCertificateSecret }}
- name: tls-client
  secret:
    secretName: {{ $v.tls.clientCertificateSecret }}
    defaultMode: 0440
    items: [{key: tls.crt, path: tls.crt}, {key: tls.key, path: tls.key}]
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: {{ $v.tmpSize }}
{{- end -}}

{{- define "folio.volumeMounts" -}}
{{- $v := .root.Values -}}
- name: settings
  mountPath: /etc/folio
  readOnly: true
- name: secrets
  mountPath: {{ include "folio.secretDir" . }}
  readOnly: true
{{- if $v.tls.caBundle.secret }}
- name: tls-ca
  mountPath: /etc/folio-tls/ca
  readOnly: true
{{- end }}
{{- if $v.tls.clientCertificateSecret }}
- name: tls-client
  mountPath: /etc/folio-tls/client
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* The query parameters the chart adds to the database URL (the URL's own win): sslmode, the CA, the client
     certificate. */}}
{{- define "folio.databaseParams" -}}
{{- $v := .Values -}}
{{- $params := list (printf "sslmode=%s" $v.database.sslmode) -}}
{{- if $v.tls.caBundle.secret }}{{ $params = append $params "sslrootcert=/etc/folio-tls/ca/ca.crt" }}{{ end -}}
{{- if $v.tls.clientCertificateSecret }}{{ $params = append $params "sslcert=/etc/folio-tls/client/tls.crt&sslkey=/etc/folio-tls/client/tls.key" }}{{ end -}}
{{- join "&" $params -}}
{{- end -}}

{{/* The query parameters the chart adds to the broker URL: the queue's name, the CA, the client certificate. */}}
{{- define "folio.queueParams" -}}
{{- $v := .Values -}}
{{- $params := list (printf "queue=%s" $v.queue.name) -}}
{{- if $v.tls.caBundle.secret }}{{ $params = append $params "cacertfile=/etc/folio-tls/ca/ca.crt" }}{{ end -}}
{{- if $v.tls.clientCertificateSecret }}{{ $params = append $params "certfile=/etc/folio-tls/client/tls.crt&keyfile=/etc/folio-tls/client/tls.key" }}{{ end -}}
{{- join "&" $params -}}
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

{{/* Probes on the health endpoints of `port` (the health port, kept off the public one). */}}
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

{{/* One egress rule of a NetworkPolicy: to `peers` (any address when empty) on `ports` (TCP; UDP too with
     "udp"). */}}
{{- define "folio.egressRule" -}}
- ports:
    {{- range .ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- if $.udp }}
    - {port: {{ . }}, protocol: UDP}
    {{- end }}
    {{- end }}
  {{- with .peers }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
