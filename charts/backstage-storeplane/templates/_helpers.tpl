{{- define "bs.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "bs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bs.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: backstage
{{- end -}}

{{- define "bs.labels" -}}
helm.sh/chart: {{ include "bs.chart" . }}
{{ include "bs.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: storeplane
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- /* The names below are the storeplane-rbac chart's defaults for the same values (rbac.*). */ -}}
{{- define "bs.serviceAccountName" -}}
{{- .Values.rbac.serviceAccount.name | default (include "bs.fullname" .) -}}
{{- end -}}

{{- define "bs.storeManagerRole" -}}
{{- .Values.rbac.storeManagerRole | default (printf "%s-store-manager" (include "bs.fullname" .)) -}}
{{- end -}}

{{- define "bs.storeInstallerRole" -}}
{{- .Values.rbac.storeInstallerRole | default (printf "%s-store-installer" (include "bs.fullname" .)) -}}
{{- end -}}

{{- define "bs.postgresSecretName" -}}
{{- .Values.database.postgres.existingSecret | default (printf "%s-postgres" (include "bs.fullname" .)) -}}
{{- end -}}

{{/*
The app-config the chart generates, deep-merged with .Values.appConfig (which wins).
*/}}
{{- define "bs.appConfig" -}}
{{- $cfg := dict -}}
{{- if .Values.baseUrl -}}
{{- $_ := set $cfg "app" (dict "baseUrl" .Values.baseUrl) -}}
{{- $_ := set $cfg "backend" (dict "baseUrl" .Values.baseUrl "cors" (dict "origin" .Values.baseUrl)) -}}
{{- end -}}
{{- $backend := get $cfg "backend" | default dict -}}
{{- $_ := set $backend "listen" (dict "port" 7007) -}}
{{- if eq .Values.database.client "pg" -}}
{{- $_ := set $backend "database" (dict "client" "pg" "connection" (dict "host" "${POSTGRES_HOST}" "port" "${POSTGRES_PORT}" "user" "${POSTGRES_USER}" "password" "${POSTGRES_PASSWORD}")) -}}
{{- else -}}
{{- $_ := set $backend "database" (dict "client" "better-sqlite3" "connection" ":memory:") -}}
{{- end -}}
{{- $_ := set $cfg "backend" $backend -}}
{{- /* The plugin binds the store-manager role to this ServiceAccount in every store namespace. */ -}}
{{- $serviceAccount := dict "namespace" .Release.Namespace "name" (include "bs.serviceAccountName" .) -}}
{{- $rbac := dict "storeManagerClusterRole" (include "bs.storeManagerRole" .) "storeInstallerClusterRole" (include "bs.storeInstallerRole" .) "serviceAccount" $serviceAccount -}}
{{- $_ := set $cfg "storeplane" (dict "kubernetes" (dict "source" "inCluster" "rbac" $rbac)) -}}
{{- toYaml (mustMergeOverwrite $cfg (deepCopy .Values.appConfig)) -}}
{{- end -}}
