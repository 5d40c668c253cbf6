{{/* The chart's name, or nameOverride. */}}
{{- define "nuls-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, or the release name
with the chart's name unless it already contains it. 63 characters at most
(DNS label), leaving room for the "-devnode" suffix.
*/}}
{{- define "nuls-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "nuls-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object that do not select anything. */}}
{{- define "nuls-gateway.commonLabels" -}}
helm.sh/chart: {{ include "nuls-gateway.chart" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels of the gateway's objects. */}}
{{- define "nuls-gateway.labels" -}}
{{ include "nuls-gateway.selectorLabels" . }}
{{ include "nuls-gateway.commonLabels" . }}
{{- end }}

{{/* Labels of the simulated node's objects. */}}
{{- define "nuls-gateway.devnodeLabels" -}}
{{ include "nuls-gateway.devnodeSelectorLabels" . }}
{{ include "nuls-gateway.commonLabels" . }}
{{- end }}

{{/* Labels that select the gateway pods: Service, PodDisruptionBudget. */}}
{{- define "nuls-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nuls-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end }}

{{/* Labels that select the simulated node's pod. */}}
{{- define "nuls-gateway.devnodeSelectorLabels" -}}
app.kubernetes.io/name: {{ include "nuls-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: devnode
{{- end }}

{{- define "nuls-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nuls-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "nuls-gateway.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The Secret holding GATEWAY_REDIS_URL, and its key; empty without Redis. */}}
{{- define "nuls-gateway.redisSecretName" -}}
{{- if .Values.redis.existingSecret }}
{{- .Values.redis.existingSecret }}
{{- else if .Values.redis.url }}
{{- printf "%s-redis" (include "nuls-gateway.fullname" .) }}
{{- end }}
{{- end }}

{{- define "nuls-gateway.redisSecretKey" -}}
{{- if .Values.redis.existingSecret }}
{{- .Values.redis.existingSecretKey }}
{{- else }}
{{- "redis-url" }}
{{- end }}
{{- end }}

{{/*
GATEWAY_UPSTREAM: the value, else the chart's devnode. Fails when neither:
the gateway does not start without an upstream, and the chart never makes
every pod a simulated chain with funded accounts of its own.
*/}}
{{- define "nuls-gateway.upstream" -}}
{{- if .Values.gateway.upstream }}
{{- .Values.gateway.upstream }}
{{- else if .Values.devnode.enabled }}
{{- printf "ws://%s-devnode:7771" (include "nuls-gateway.fullname" .) }}
{{- else }}
{{- fail "gateway.upstream: give the NULS upstream (a Nulstar Connector ws://...:7772, a Java module, or a Manager with gateway.topology=manager), or devnode.enabled=true for a test cluster on the chart's simulated node (a made-up chain)" }}
{{- end }}
{{- end }}

{{/*
The labels of the Manager's pods, which alone may reach the module port:
networkPolicy.module.managerPodSelector, else the chart's devnode when it is
the Manager. Fails when neither: an empty selector would admit every pod.
*/}}
{{- define "nuls-gateway.managerPodLabels" -}}
{{- if .Values.networkPolicy.module.managerPodSelector }}
{{- toYaml .Values.networkPolicy.module.managerPodSelector }}
{{- else if and .Values.devnode.enabled (not .Values.gateway.upstream) }}
{{- include "nuls-gateway.devnodeSelectorLabels" . }}
{{- else }}
{{- fail "networkPolicy.module.managerPodSelector: give the labels of the Manager's pods, the only ones admitted to the module port (or networkPolicy.enabled=false and a NetworkPolicy of your own)" }}
{{- end }}
{{- end }}

{{/* Seconds between the stop request and SIGKILL. */}}
{{- define "nuls-gateway.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add .Values.preStopSleepSeconds .Values.gateway.shutdownTimeoutSeconds 15 }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}
