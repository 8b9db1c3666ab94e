#!/usr/bin/env bash
# Checks the chart offline, as CI does (tests/deploy.rs runs this): `helm lint --strict`; `helm template`
# rendered without and with the KEDA API, and with every optional secret and TLS file set (full.yaml); the
# renderings validated by `kubernetes-validate --strict`
# (Kubernetes' own schemas; KEDA's ScaledObject and TriggerAuthentication have none there and are checked
# by tests/deploy.rs) and, with the values, by `yamllint`. Needs helm (HELM, or on PATH, or .tools/helm as
# scripts/test installs it), kubernetes-validate and yamllint (PyPI).
# Usage: deploy/helm/check.sh [OUT_DIR]   (the renderings are left in OUT_DIR: plain.yaml, keda.yaml, full.yaml)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
helm=${HELM:-$(command -v helm || echo "$here/../../.tools/helm")}
out=${1:-$(mktemp -d)}
mkdir -p "$out"
"$helm" lint --strict "$here/folio"
"$helm" template folio "$here/folio" > "$out/plain.yaml"
"$helm" template folio "$here/folio" --api-versions keda.sh/v1alpha1 > "$out/keda.yaml"
"$helm" template folio "$here/folio" --api-versions keda.sh/v1alpha1 \
  --set tls.caBundle.secret=folio-ca --set tls.clientCertificateSecret=folio-client-certificate \
  --set bundle.signingKeySecret=folio-signing-key --set bundle.webhookSecret=folio-webhook > "$out/full.yaml"
kubernetes-validate --strict --quiet "$out/plain.yaml" "$out/keda.yaml" "$out/full.yaml"
yamllint -c "$here/.yamllint" "$out/plain.yaml" "$out/keda.yaml" "$out/full.yaml" "$here/folio/values.yaml" \
  "$here/folio/Chart.yaml"
echo "chart: lint, render (plain, KEDA, every option), kubernetes-validate --strict and yamllint passed; renderings in $out"
