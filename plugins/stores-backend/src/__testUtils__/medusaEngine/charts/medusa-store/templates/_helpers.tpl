{{- define "medusa.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- define "medusa.serverName" -}}{{ include "medusa.fullname" . }}-server{{- end -}}
{{- define "medusa.postgresName" -}}{{ include "medusa.fullname" . }}-postgres{{- end -}}

{{/* Usage: include "medusa.selectorLabels" (dict "ctx" . "component" "server") */}}
{{- define "medusa.selectorLabels" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "medusa.chartLabels" -}}
{{ include "medusa.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
storeplane.io/store-id: {{ required "store.id is required" .ctx.Values.store.id | quote }}
{{- end -}}

{{- define "medusa.labels" -}}
{{ include "medusa.chartLabels" . }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod Security "restricted", which store namespaces enforce. */}}
{{- define "medusa.containerSecurityContext" -}}
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
