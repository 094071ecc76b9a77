{{/* The release's name for every object, and the labels they share. */}}
{{- define "otp.name" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "otp.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "otp.labels" -}}
{{ include "otp.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* What the chart refuses to render: the embedded default, replicas past the partitions. */}}
{{- define "otp.checks" -}}
{{- if and (not .Values.kafka.bootstrapServers) (not .Values.mongodb.enabled) -}}
{{- fail "set kafka.bootstrapServers or mongodb.enabled: the embedded default (SQLite in the pod) is not for a cluster" -}}
{{- end -}}
{{- if and .Values.mongodb.enabled (not .Values.secrets.keys.MONGODB_URI) -}}
{{- fail "mongodb.enabled needs secrets.keys.MONGODB_URI: the URI may hold a password, so it comes from the Secret" -}}
{{- end -}}
{{- if not .Values.secrets.keys.OTP_HASH_KEYS -}}
{{- fail "secrets.keys.OTP_HASH_KEYS is required: every replica must hash codes with the same keys" -}}
{{- end -}}
{{- if not .Values.secrets.keys.HTTP_API_KEYS -}}
{{- fail "secrets.keys.HTTP_API_KEYS is required: the pods listen beyond loopback" -}}
{{- end -}}
{{- if gt (int .Values.replicas) (int .Values.partitions) -}}
{{- fail (printf "replicas (%d) exceed the generate topic's partitions (%d): the extra ones would idle" (int .Values.replicas) (int .Values.partitions)) -}}
{{- end -}}
{{- if and .Values.keda.enabled (gt (int .Values.keda.minReplicas) (int .Values.partitions)) -}}
{{- fail "keda.minReplicas exceeds the generate topic's partitions" -}}
{{- end -}}
{{- if ge (int .Values.podDisruptionBudget.minAvailable) (int (ternary .Values.keda.minReplicas .Values.replicas .Values.keda.enabled)) -}}
{{- fail "podDisruptionBudget.minAvailable must be below the replicas (keda.minReplicas with KEDA): a drain must be able to move one pod" -}}
{{- end -}}
{{- range $name, $value := .Values.env -}}
{{- if hasKey $.Values.secrets.keys $name -}}
{{- fail (printf "%s is a secret: give it in the Secret (secrets.keys), not in env" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
