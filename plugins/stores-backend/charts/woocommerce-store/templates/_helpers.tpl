{{/*
Base name of every object: the release name, shortened so that "<base>-mariadb-headless" and the
StatefulSet's pod/revision names stay within 63 characters.
*/}}
{{- define "wcs.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "wcs.wordpressName" -}}{{ include "wcs.fullname" . }}-wordpress{{- end -}}
{{- define "wcs.mariadbName" -}}{{ include "wcs.fullname" . }}-mariadb{{- end -}}
{{- define "wcs.setupName" -}}{{ include "wcs.fullname" . }}-setup{{- end -}}

{{- define "wcs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fails early with a plain message when the values the backend must set are missing. */}}
{{- define "wcs.storeId" -}}
{{- required "store.id is required (the store's id, e.g. abc123)" .Values.store.id -}}
{{- end -}}

{{/*
Labels of every object: the chart's own plus .Values.commonLabels (pods: wcs.podLabels).
Usage: include "wcs.labels" (dict "ctx" . "component" "wordpress")
*/}}
{{- define "wcs.labels" -}}
{{ include "wcs.chartLabels" . }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The chart's own labels, without .Values.commonLabels.
*/}}
{{- define "wcs.chartLabels" -}}
helm.sh/chart: {{ include "wcs.chart" .ctx }}
{{ include "wcs.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: storeplane
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
storeplane.io/store-id: {{ include "wcs.storeId" .ctx | quote }}
{{- end -}}

{{/*
Labels of the WordPress and MariaDB pod templates: none that moves with the chart or app
version, so an upgrade that changes nothing in a pod does not restart it (a fleet rollout would
otherwise restart every store's database, and the replaced pods, still counted by the quota
until its controller recounts, would crowd out the setup Job).
*/}}
{{- define "wcs.podLabels" -}}
{{ include "wcs.selectorLabels" . }}
app.kubernetes.io/part-of: storeplane
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
storeplane.io/store-id: {{ include "wcs.storeId" .ctx | quote }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Labels of a StatefulSet's volumeClaimTemplates, which can never change after creation: none
that moves with the chart or app version, or with .Values.commonLabels, so a chart upgrade can
patch the StatefulSet.
*/}}
{{- define "wcs.volumeClaimLabels" -}}
{{ include "wcs.selectorLabels" . }}
app.kubernetes.io/part-of: storeplane
storeplane.io/store-id: {{ include "wcs.storeId" .ctx | quote }}
{{- end -}}

{{- define "wcs.selectorLabels" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "wcs.image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* Container securityContext shared by every container (restricted Pod Security Standard). */}}
{{- define "wcs.containerSecurityContext" -}}
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Database connection env read by wp-config.php (official image's wp-config-docker.php). */}}
{{- define "wcs.wordpressDbEnv" -}}
- name: WORDPRESS_DB_HOST
  value: {{ printf "%s:3306" (include "wcs.mariadbName" .) | quote }}
- name: WORDPRESS_DB_NAME
  value: wordpress
- name: WORDPRESS_DB_USER
  value: wordpress
- name: WORDPRESS_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret }}
      key: database-password
{{- end -}}

