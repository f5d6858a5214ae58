{{/*
Helpers of the monetization chart. Every helper is namespaced "monetization.".
Helpers that need more than the root context take a dict with at least "root".
*/}}

{{/* Chart name. */}}
{{- define "monetization.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every resource name. */}}
{{- define "monetization.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
<fullname>-<suffix>, at most .max (default 63) characters: the prefix is shortened, never the
suffix, so that two objects of one release never collide.
Usage: include "monetization.prefixed" (dict "root" $ "suffix" "customer-worker" "max" 52)
*/}}
{{- define "monetization.prefixed" -}}
{{- $max := int (default 63 .max) -}}
{{- $room := int (sub $max (add1 (len .suffix))) -}}
{{- printf "%s-%s" (include "monetization.fullname" .root | trunc $room | trimSuffix "-") .suffix -}}
{{- end -}}

{{/* Chart label value. */}}
{{- define "monetization.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels: immutable for the life of a release (no version, no chart).
Usage: include "monetization.selectorLabels" (dict "root" $ "name" "customer" "component" "worker")
*/}}
{{- define "monetization.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Full label set of metadata: selector labels plus part-of, version, chart, managed-by and commonLabels.
Usage: include "monetization.labels" (dict "root" $ "name" "customer" "component" "worker")
*/}}
{{- define "monetization.labels" -}}
{{ include "monetization.selectorLabels" . }}
app.kubernetes.io/part-of: {{ include "monetization.name" .root }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "monetization.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Pod template labels: selector labels plus part-of, version and commonLabels (no chart label, so
that a chart-only change does not restart the pods).
*/}}
{{- define "monetization.podLabels" -}}
{{ include "monetization.selectorLabels" . }}
app.kubernetes.io/part-of: {{ include "monetization.name" .root }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Deep merge of two maps, returned as JSON: keys of .override win (false, 0 and "" included, unlike
sprig's mergeOverwrite); maps merge key by key; lists and scalars are replaced.
Usage: include "monetization.deepMerge" (dict "base" $a "override" $b) | fromJson
*/}}
{{- define "monetization.deepMerge" -}}
{{- $out := deepCopy (default dict .base) -}}
{{- range $key, $value := (default dict .override) -}}
{{- $current := get $out $key -}}
{{- if and (kindIs "map" $value) (kindIs "map" $current) -}}
{{- $_ := set $out $key (include "monetization.deepMerge" (dict "base" $current "override" $value) | fromJson) -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
The long-running workloads: one item per enabled worker / api of every enabled service, with the
service defaults merged in. Returned as JSON {"items": [{service, component, name, cfg}]}.
Usage: range (include "monetization.workloads" $ | fromJson).items
*/}}
{{- define "monetization.workloads" -}}
{{- $root := . -}}
{{- $items := list -}}
{{- range $service, $svc := .Values.services -}}
{{- if $svc.enabled -}}
{{- range $component := list "worker" "api" "stream" "charging" -}}
{{- $override := get $svc $component -}}
{{- if and (kindIs "map" $override) $override.enabled -}}
{{- /* A stream or charging process (`python -m <svc> stream|charging`) is shaped like a worker: health port, no API. */ -}}
{{- $base := get $root.Values.defaults (ternary "api" "worker" (eq $component "api")) -}}
{{- $cfg := include "monetization.deepMerge" (dict "base" $base "override" $override) | fromJson -}}
{{- $port := ternary $cfg.port $cfg.healthPort (eq $component "api") -}}
{{- $_ := set $cfg "containerPort" (int $port) -}}
{{- $_ := set $cfg "portName" (ternary "http" "health" (eq $component "api")) -}}
{{- if and $cfg.autoscaling.enabled (gt (int $cfg.autoscaling.minReplicas) (int $cfg.autoscaling.maxReplicas)) -}}
{{- fail (printf "services.%s.%s.autoscaling: minReplicas is greater than maxReplicas" $service $component) -}}
{{- end -}}
{{- if and $cfg.keda $cfg.keda.enabled $cfg.keda.minReplicaCount (gt (int $cfg.keda.minReplicaCount) (int $cfg.keda.maxReplicaCount)) -}}
{{- fail (printf "services.%s.%s.keda: minReplicaCount is greater than maxReplicaCount" $service $component) -}}
{{- end -}}
{{- $items = append $items (dict "service" $service "component" $component "name" (printf "%s-%s" $service $component) "cfg" $cfg) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "items" $items) -}}
{{- end -}}

{{/*
Image reference of a service: [<registry>/]<repository>:<tag>[@<digest>]. Fails on a missing or
"latest" tag: images are always pinned.
Usage: include "monetization.image" (dict "root" $ "service" "customer")
*/}}
{{- define "monetization.image" -}}
{{- $svc := get .root.Values.services .service -}}
{{- $img := default dict $svc.image -}}
{{- $repository := default (printf "%s/%s" .root.Values.image.repositoryPrefix .service) $img.repository -}}
{{- $tag := default (default .root.Chart.AppVersion .root.Values.image.tag) $img.tag | toString -}}
{{- $digest := default .root.Values.image.digest $img.digest -}}
{{- if or (not $tag) (eq $tag "latest") -}}
{{- fail (printf "the image of %s must have a pinned tag (got %q)" .service $tag) -}}
{{- end -}}
{{- $ref := printf "%s:%s" $repository $tag -}}
{{- with .root.Values.image.registry -}}
{{- $ref = printf "%s/%s" (trimSuffix "/" .) $ref -}}
{{- end -}}
{{- with $digest -}}
{{- $ref = printf "%s@%s" $ref . -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* Name of a service's ServiceAccount and ConfigMap. Usage: (dict "root" $ "service" "customer") */}}
{{- define "monetization.serviceResourceName" -}}
{{- include "monetization.prefixed" (dict "root" .root "suffix" .service) -}}
{{- end -}}

{{/* MongoDBCommunity resource name. */}}
{{- define "monetization.mongodbName" -}}
{{- default (include "monetization.prefixed" (dict "root" . "suffix" "mongodb" "max" 40)) .Values.mongodb.operator.name -}}
{{- end -}}

{{/* RabbitmqCluster resource name. */}}
{{- define "monetization.rabbitmqName" -}}
{{- default (include "monetization.prefixed" (dict "root" . "suffix" "rabbitmq" "max" 40)) .Values.rabbitmq.operator.name -}}
{{- end -}}

{{/*
Secret and key holding MONGODB_URI, as YAML {name, key}: the existing Secret, or the connection-string
Secret the MongoDB Community Operator generates (<resource>-<auth db>-<user>, key connectionString.standard).
*/}}
{{- define "monetization.mongodbUriSecret" -}}
{{- if .Values.mongodb.operator.enabled -}}
name: {{ printf "%s-admin-%s" (include "monetization.mongodbName" .) .Values.mongodb.operator.user.name | lower }}
key: connectionString.standard
{{- else -}}
name: {{ required "mongodb.existingSecret is required when mongodb.operator.enabled is false" .Values.mongodb.existingSecret }}
key: {{ .Values.mongodb.uriKey }}
{{- end -}}
{{- end -}}

{{/* Secret generated by the RabbitMQ Cluster Operator for the default user. */}}
{{- define "monetization.rabbitmqDefaultUserSecret" -}}
{{- printf "%s-default-user" (include "monetization.rabbitmqName" .) -}}
{{- end -}}

{{/*
Non-secret environment of a service, as YAML NAME: "value". Rendered into the service's ConfigMap,
inlined into the migration hook (which runs before the ConfigMaps exist), and hashed into the
checksum/config annotation.
Usage: include "monetization.configData" (dict "root" $ "service" "customer")
*/}}
{{- define "monetization.configData" -}}
{{- $v := .root.Values -}}
{{- $svc := get $v.services .service -}}
{{- $data := dict
      "SERVICE_NAME" .service
      "LOG_LEVEL" $v.config.logLevel
      "MONGODB_DB_PREFIX" $v.config.mongodbDbPrefix
      "CONTRACTS_DIR" $v.config.contractsDir
      "HTTP_HOST" $v.config.httpHost
      "PYTHONUNBUFFERED" "1"
      "PYTHONDONTWRITEBYTECODE" "1" -}}
{{- if $v.otel.enabled -}}
{{- $_ := set $data "OTEL_EXPORTER_OTLP_ENDPOINT" (required "otel.endpoint is required when otel.enabled is true" $v.otel.endpoint) -}}
{{- $_ := set $data "OTEL_EXPORTER_OTLP_PROTOCOL" "http/protobuf" -}}
{{- $_ := set $data "OTEL_SERVICE_NAME" .service -}}
{{- $_ := set $data "OTEL_TRACES_SAMPLER" $v.otel.sampler -}}
{{- $_ := set $data "OTEL_TRACES_SAMPLER_ARG" (toString $v.otel.samplerArg) -}}
{{- end -}}
{{- range $key, $value := $v.config.extraEnv -}}
{{- $_ := set $data $key $value -}}
{{- end -}}
{{- range $key, $value := (default dict $svc.config) -}}
{{- $_ := set $data $key $value -}}
{{- end -}}
{{- range $key, $value := $data }}
{{ $key }}: {{ toString $value | quote }}
{{- end -}}
{{- end -}}

{{/* checksum/config annotation value of a service. Usage: (dict "root" $ "service" "customer") */}}
{{- define "monetization.configChecksum" -}}
{{- include "monetization.configData" . | sha256sum -}}
{{- end -}}

{{/*
Container environment (list items) common to every process of a service: the downward API, the
MongoDB and AMQP URIs, OTEL resource attributes, the Secret-backed variables of the service and of
the workload, then the workload's extraEnv.
Usage: include "monetization.env" (dict "root" $ "service" "customer" "component" "worker" "secretEnv" $cfg.secretEnv "extraEnv" $cfg.extraEnv)
*/}}
{{- define "monetization.env" -}}
{{- $v := .root.Values -}}
{{- $svc := get $v.services .service -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- $mongo := include "monetization.mongodbUriSecret" .root | fromYaml }}
- name: MONGODB_URI
  valueFrom:
    secretKeyRef:
      name: {{ $mongo.name }}
      key: {{ $mongo.key }}
{{- if $v.rabbitmq.operator.enabled }}
{{- $secret := include "monetization.rabbitmqDefaultUserSecret" .root }}
- name: AMQP_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: username
- name: AMQP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: password
- name: AMQP_URI
  value: {{ printf "amqp://$(AMQP_USERNAME):$(AMQP_PASSWORD)@%s.%s.svc:%d/%s" (include "monetization.rabbitmqName" .root) .root.Release.Namespace (int $v.rabbitmq.port) (urlquery $v.rabbitmq.operator.vhost) | quote }}
{{- else }}
- name: AMQP_URI
  valueFrom:
    secretKeyRef:
      name: {{ required "rabbitmq.existingSecret is required when rabbitmq.operator.enabled is false" $v.rabbitmq.existingSecret }}
      key: {{ $v.rabbitmq.uriKey }}
{{- end }}
{{- if $v.otel.enabled }}
{{- $attrs := list "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.pod.name=$(POD_NAME)" (printf "service.namespace=%s" (include "monetization.name" .root)) (printf "service.version=%s" .root.Chart.AppVersion) (printf "monetization.component=%s" .component) }}
{{- range $key, $value := $v.otel.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%s" $key (toString $value)) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- end }}
{{- $secretEnv := merge (deepCopy (default dict .secretEnv)) (default dict $svc.secretEnv) }}
{{- range $name, $ref := $secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.secretName }}
      key: {{ $ref.key }}
{{- end }}
{{- with .extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volume mounts of every container: the writable /tmp. */}}
{{- define "monetization.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Volumes of every pod. Usage: include "monetization.volumes" $ */}}
{{- define "monetization.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{/*
Egress rules shared by every NetworkPolicy: DNS, MongoDB, RabbitMQ, the OTLP collector, extras.
Usage: include "monetization.egressRules" $
*/}}
{{- define "monetization.egressRules" -}}
{{- $v := .Values -}}
{{- $np := $v.networkPolicy -}}
- to:
    {{- toYaml $np.dns | nindent 4 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- $mongoPeers := $np.mongodb }}
{{- if $v.mongodb.operator.enabled }}
{{- $mongoPeers = append $mongoPeers (dict "podSelector" (dict "matchLabels" (dict "app" (printf "%s-svc" (include "monetization.mongodbName" .))))) }}
{{- end }}
- ports:
    - protocol: TCP
      port: {{ int $v.mongodb.port }}
  {{- with $mongoPeers }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- $amqpPeers := $np.rabbitmq }}
{{- if $v.rabbitmq.operator.enabled }}
{{- $amqpPeers = append $amqpPeers (dict "podSelector" (dict "matchLabels" (dict "app.kubernetes.io/name" (include "monetization.rabbitmqName" .)))) }}
{{- end }}
- ports:
    - protocol: TCP
      port: {{ int $v.rabbitmq.port }}
  {{- with $amqpPeers }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- if $v.otel.enabled }}
- ports:
    {{- range $np.otlpPorts }}
    - protocol: TCP
      port: {{ int . }}
    {{- end }}
  {{- with $np.otlp }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- with $np.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Hook events of the migration Job: pre-install when the databases exist before the release, else
post-install (an operator creates them with the release). Always pre-upgrade.
*/}}
{{- define "monetization.migrationHookEvents" -}}
{{- if .Values.migrations.hookEvents -}}
{{- join "," .Values.migrations.hookEvents -}}
{{- else if or .Values.mongodb.operator.enabled .Values.rabbitmq.operator.enabled -}}
post-install,pre-upgrade
{{- else -}}
pre-install,pre-upgrade
{{- end -}}
{{- end -}}

{{/* Enabled services in migration order: migrations.order first, then the others alphabetically. */}}
{{- define "monetization.migrationServices" -}}
{{- $root := . -}}
{{- $ordered := list -}}
{{- range .Values.migrations.order -}}
{{- $svc := get $root.Values.services . -}}
{{- if and $svc $svc.enabled (not (has . $ordered)) -}}
{{- $ordered = append $ordered . -}}
{{- end -}}
{{- end -}}
{{- range $name, $svc := .Values.services -}}
{{- if and $svc.enabled (not (has $name $ordered)) -}}
{{- $ordered = append $ordered $name -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "items" $ordered) -}}
{{- end -}}

{{/*
One migration container: `python -m <service> migrate` with the service's configuration inline.
Usage: include "monetization.migrateContainer" (dict "root" $ "service" "customer")
*/}}
{{- define "monetization.migrateContainer" -}}
{{- $root := .root -}}
- name: migrate-{{ .service }}
  image: {{ include "monetization.image" (dict "root" $root "service" .service) | quote }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  command: ["python", "-m", {{ .service | quote }}]
  args: ["migrate"]
  env:
    {{- range $key, $value := (include "monetization.configData" (dict "root" $root "service" .service) | fromYaml) }}
    - name: {{ $key }}
      value: {{ toString $value | quote }}
    {{- end }}
    {{- include "monetization.env" (dict "root" $root "service" .service "component" "migrate") | nindent 4 }}
  resources:
    {{- toYaml $root.Values.migrations.resources | nindent 4 }}
  securityContext:
    {{- toYaml $root.Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    {{- include "monetization.volumeMounts" $root | nindent 4 }}
{{- end -}}
