{{/* Names ------------------------------------------------------------------------------ */}}

{{- define "cqrs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cqrs.fullname" -}}
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

{{/* A component's resource name: <fullname>-<component>, within 63 characters. */}}
{{- define "cqrs.componentName" -}}
{{- printf "%s-%s" (include "cqrs.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cqrs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cqrs.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels ----------------------------------------------------------------------------- */}}

{{- define "cqrs.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "cqrs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cqrs
{{- end -}}

{{/* Labels of one component; call with (dict "root" $ "component" "command-service"). */}}
{{- define "cqrs.componentLabels" -}}
{{ include "cqrs.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cqrs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cqrs.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The apps ---------------------------------------------------------------------------

The four apps, what each needs, and which database role it connects as. `uses` drives the
environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, the OIDC issuer) and the egress NetworkPolicy;
tools/deploy's tests check it against each app's config.ts. `api`: it serves an API on `port`
and its health, metrics and docs on `managementPort`; the others have one port, which serves
those. `autoscale`: whether an HPA may scale it. */}}
{{- define "cqrs.appTable" -}}
commandService:
  name: command-service
  api: true
  database: write
  role: command
  uses: [postgres, schemaRegistry, issuer]
  autoscale: true
queryService:
  name: query-service
  api: true
  database: read
  role: query
  uses: [postgres, issuer]
  autoscale: true
projector:
  name: projector
  api: false
  database: read
  role: projector
  uses: [postgres, kafka, schemaRegistry]
  autoscale: true
outboxRelay:
  name: outbox-relay
  api: false
  database: write
  role: relay
  uses: [postgres, kafka]
  autoscale: false
{{- end -}}

{{/* The apps this release runs, as a dict key -> meta (the relay only in outbox.mode=relay). */}}
{{- define "cqrs.enabledApps" -}}
{{- $apps := fromYaml (include "cqrs.appTable" .) -}}
{{- if ne .Values.outbox.mode "relay" -}}
{{- $_ := unset $apps "outboxRelay" -}}
{{- end -}}
{{- toYaml $apps -}}
{{- end -}}

{{/* Images ----------------------------------------------------------------------------- */}}

{{/* Call with (dict "root" $ "image" .Values.<app>.image). */}}
{{- define "cqrs.image" -}}
{{- $registry := .root.Values.image.registry | trimSuffix "/" -}}
{{- $repository := .image.repository -}}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- $ref := ternary $repository (printf "%s/%s" $registry $repository) (eq $registry "") -}}
{{- if .image.digest -}}
{{- printf "%s:%s@%s" $ref $tag .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref $tag -}}
{{- end -}}
{{- end -}}

{{/* The port an app's health probes, /metrics and docs answer on (named `management` in its
pod): the API apps' managementPort, the others' one port. Call with (dict "app" $app "values" $values). */}}
{{- define "cqrs.managementPort" -}}
{{- ternary .values.managementPort .values.port (.app.api | default false) -}}
{{- end -}}

{{/* Addresses -------------------------------------------------------------------------- */}}

{{/* The TCP ports of the Kafka brokers, as a YAML list. */}}
{{- define "cqrs.kafkaPorts" -}}
{{- $ports := list -}}
{{- range .Values.kafka.brokers -}}
{{- $ports = append $ports (int (regexReplaceAll "^.*:([0-9]+)$" . "${1}")) -}}
{{- end -}}
{{- toYaml (uniq $ports) -}}
{{- end -}}

{{/* The TCP port of an http(s) URL (explicit, else 80/443). */}}
{{- define "cqrs.urlPort" -}}
{{- $url := urlParse . -}}
{{- if regexMatch ":[0-9]+$" $url.host -}}
{{- regexReplaceAll "^.*:([0-9]+)$" $url.host "${1}" -}}
{{- else -}}
{{- ternary "443" "80" (eq $url.scheme "https") -}}
{{- end -}}
{{- end -}}

{{/* The Postgres connection string of a role, as EnvVar entries for `name` (DATABASE_URL...).
Call with (dict "root" $ "name" "DATABASE_URL" "role" "command" "database" "write" "uriKey" "uriKey").
With a uriKey the Secret holds the whole URL; otherwise the chart builds it from the username and
password keys through Kubernetes' $(VAR) expansion of PGUSER / PGPASSWORD (libpq's own names). */}}
{{- define "cqrs.databaseUrlEnv" -}}
{{- $pg := .root.Values.postgres -}}
{{- $cred := index $pg.credentials .role -}}
{{- $uriKey := index $cred (default "uriKey" .uriKey) | default "" -}}
{{- if $uriKey }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ $cred.existingSecret }}
      key: {{ $uriKey }}
{{- else }}
{{- if not .skipCredentials }}
- name: PGUSER
  valueFrom:
    secretKeyRef:
      name: {{ $cred.existingSecret }}
      key: {{ $cred.usernameKey }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $cred.existingSecret }}
      key: {{ $cred.passwordKey }}
{{- end }}
- name: {{ .name }}
  value: {{ printf "postgres://$(PGUSER):$(PGPASSWORD)@%s:%v/%s%s" $pg.host $pg.port (index $pg.databases .database) (ternary "" (printf "?sslmode=%s" $pg.sslMode) (eq $pg.sslMode "")) | quote }}
{{- end }}
{{- end -}}

{{/* OpenTelemetry environment of one workload; call with (dict "root" $ "service" "command-service"). */}}
{{- define "cqrs.otelEnv" -}}
{{- $otel := .root.Values.otel -}}
- name: OTEL_SERVICE_NAME
  value: {{ .service }}
- name: OTEL_SDK_DISABLED
  value: {{ (not $otel.enabled) | toString | quote }}
{{- if $otel.enabled }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $otel.protocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $otel.sampler.name | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $otel.sampler.ratio | toString | quote }}
{{- if $otel.headersSecret.name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ $otel.headersSecret.name }}
      key: {{ $otel.headersSecret.key }}
{{- end }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- $attrs := list (printf "service.version=%s" .root.Chart.AppVersion) "k8s.pod.name=$(K8S_POD_NAME)" (printf "k8s.namespace.name=%s" .root.Release.Namespace) }}
{{- range $key := keys $otel.resourceAttributes | sortAlpha }}
{{- $attrs = append $attrs (printf "%s=%v" $key (index $otel.resourceAttributes $key)) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- end }}
{{- end -}}

{{/* The TCP ports of the OIDC issuer the API apps fetch keys from: its discovery document's
(unless auth.oidc.jwksUrl skips it) and the key set's, as a YAML list. */}}
{{- define "cqrs.issuerPorts" -}}
{{- $oidc := .Values.auth.oidc -}}
{{- $ports := list -}}
{{- if not $oidc.jwksUrl -}}
{{- $ports = append $ports (int (include "cqrs.urlPort" (include "cqrs.issuerUrl" .))) -}}
{{- else -}}
{{- $ports = append $ports (int (include "cqrs.urlPort" $oidc.jwksUrl)) -}}
{{- end -}}
{{- toYaml (uniq $ports) -}}
{{- end -}}

{{/* auth.oidc.issuerUrl, which every install must set: the chart has no issuer to default to. */}}
{{- define "cqrs.issuerUrl" -}}
{{- required "auth.oidc.issuerUrl is required: the OIDC issuer whose access tokens command-service and query-service accept, exactly as the tokens' iss (e.g. https://login.example.com/realms/cqrs); see docs/deployment.md" .Values.auth.oidc.issuerUrl -}}
{{- end -}}

{{/* Security ---------------------------------------------------------------------------- */}}

{{- define "cqrs.podSecurityContext" -}}
runAsNonRoot: true
{{- range $key := list "runAsUser" "runAsGroup" "fsGroup" }}
{{- $value := index $.Values.podSecurityContext $key }}
{{- if not (kindIs "invalid" $value) }}
{{ $key }}: {{ $value }}
{{- end }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "cqrs.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Egress every workload needs: DNS. */}}
{{- define "cqrs.dnsEgress" -}}
- ports:
    - { port: 53, protocol: UDP }
    - { port: 53, protocol: TCP }
{{- end -}}
