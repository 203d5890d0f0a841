{{- define "storeplane-rbac.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- /* The chart's own name, not .Chart.Name: a chart depending on it may alias it. */ -}}
{{- define "storeplane-rbac.labels" -}}
helm.sh/chart: {{ printf "storeplane-rbac-%s" .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: storeplane-rbac
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: rbac
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: storeplane
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "storeplane-rbac.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "storeplane-rbac.fullname" .) -}}
{{- end -}}

{{- define "storeplane-rbac.serviceAccountNamespace" -}}
{{- .Values.serviceAccount.namespace | default .Release.Namespace -}}
{{- end -}}

{{- define "storeplane-rbac.controllerRole" -}}{{ include "storeplane-rbac.fullname" . }}-controller{{- end -}}

{{- define "storeplane-rbac.storeManagerRole" -}}
{{- .Values.storeManagerRole | default (printf "%s-store-manager" (include "storeplane-rbac.fullname" .)) -}}
{{- end -}}

{{- define "storeplane-rbac.storeInstallerRole" -}}
{{- .Values.storeInstallerRole | default (printf "%s-store-installer" (include "storeplane-rbac.fullname" .)) -}}
{{- end -}}

{{/* files/rbac-rules.yaml parsed; fails when it does not parse. */}}
{{- define "storeplane-rbac.rules" -}}
{{- $rules := .Files.Get "files/rbac-rules.yaml" | fromYaml -}}
{{- if or (not $rules) (hasKey $rules "Error") -}}
{{- fail (printf "files/rbac-rules.yaml is missing or invalid: %v" ($rules | default dict).Error) -}}
{{- end -}}
{{- toYaml $rules -}}
{{- end -}}
