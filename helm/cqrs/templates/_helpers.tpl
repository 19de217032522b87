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

{{/* The names made of <fullname>-<component> must stay apart within 63 characters: a long release
name or fullnameOverride would cut the component off, and two objects of a kind would share a name
(the API server then refuses the second: "already exists"). Fails with the names that would clash. */}}
{{- define "cqrs.checkNames" -}}
{{- $fullname := include "cqrs.fullname" . -}}
{{- $groups := list (list "" "command-service" "query-service" "projector" "outbox-relay" "hooks" "migrate-database" "migrate-schemas" "outbox" "outbox-connector") (list "command-service-credentials" "query-service-credentials" "projector-credentials" "outbox-relay-credentials" "migrate-schemas-credentials") -}}
{{- range $group := $groups -}}
{{- $seen := dict -}}
{{- range $component := $group -}}
{{- $name := ternary $fullname (include "cqrs.componentName" (dict "root" $ "component" $component)) (eq $component "") -}}
{{- with index $seen $name -}}
{{- fail (printf "the release name or fullnameOverride is too long: resource names are <fullname>-<component> within 63 characters, and with the fullname %q (%d characters) %s and %s would both be named %q. Use a shorter release name, or set fullnameOverride (35 characters or fewer keep every name whole)." $fullname (len $fullname) . (default "the ServiceAccount" $component) $name) -}}
{{- end -}}
{{- $_ := set $seen $name (default "the ServiceAccount" $component) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The apiVersion of a Strimzi kind (call with (dict "root" $ "kind" "KafkaTopic")): kafka.strimzi.io/v1
where the cluster serves it (Strimzi 0.49 and later, which deprecate v1beta2; 1.0 and later serve v1
only), else v1beta2 (older Strimzi, and `helm template` unless given
`--api-versions kafka.strimzi.io/v1/KafkaTopic` and `.../v1/KafkaConnector`). */}}
{{- define "cqrs.strimziApiVersion" -}}
{{- if .root.Capabilities.APIVersions.Has (printf "kafka.strimzi.io/v1/%s" .kind) -}}
kafka.strimzi.io/v1
{{- else -}}
kafka.strimzi.io/v1beta2
{{- end -}}
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
  # issuer: its admin API (/admin/cqrs) takes bearer tokens, on its one port.
  uses: [postgres, kafka, schemaRegistry, issuer]
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

{{/* The query string every Postgres URL gets: ?sslmode=<postgres.sslMode>, and &sslrootcert=<the
mounted CA> when postgres.ca names one (node-postgres reads both from the URL, as libpq does). */}}
{{- define "cqrs.postgresQuery" -}}
{{- $pg := .Values.postgres -}}
{{- $params := list -}}
{{- if $pg.sslMode -}}
{{- $params = append $params (printf "sslmode=%s" $pg.sslMode) -}}
{{- end -}}
{{- if and (or $pg.ca.secret $pg.ca.configMap) (ne $pg.sslMode "disable") -}}
{{- $params = append $params (printf "sslrootcert=%s/postgres-ca.crt" (include "cqrs.tlsDir" .)) -}}
{{- end -}}
{{- if $params -}}
{{- printf "?%s" (join "&" $params) -}}
{{- end -}}
{{- end -}}

{{/* The Postgres connection string of a role, as EnvVar entries for `name` (DATABASE_URL...).
Call with (dict "root" $ "name" "DATABASE_URL" "role" "command" "database" "write" "uriKey" "uriKey").
With a uriKey the Secret holds the whole URL (without a query string): the chart appends the TLS
parameters through Kubernetes' $(VAR) expansion of <name>_FROM_SECRET. Otherwise the chart builds
it from the username and password keys, through $(PGUSER) / $(PGPASSWORD) (libpq's own names). */}}
{{- define "cqrs.databaseUrlEnv" -}}
{{- $pg := .root.Values.postgres -}}
{{- $cred := index $pg.credentials .role -}}
{{- $uriKey := index $cred (default "uriKey" .uriKey) | default "" -}}
{{- $query := include "cqrs.postgresQuery" .root -}}
{{- if $uriKey }}
{{- if $query }}
- name: {{ .name }}_FROM_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $cred.existingSecret }}
      key: {{ $uriKey }}
- name: {{ .name }}
  value: {{ printf "$(%s_FROM_SECRET)%s" .name $query | quote }}
{{- else }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ $cred.existingSecret }}
      key: {{ $uriKey }}
{{- end }}
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
  value: {{ printf "postgres://$(PGUSER):$(PGPASSWORD)@%s:%v/%s%s" $pg.host $pg.port (index $pg.databases .database) $query | quote }}
{{- end }}
{{- end -}}

{{/* Transport security and client identities -------------------------------------------

Certificates and secrets reach the containers as files of two projected volumes, never as
environment values or ConfigMap data: CA bundles and client certificates in cqrs.tlsDir,
passwords, tokens and private keys in cqrs.secretsDir. The *_FILE variables name them; the
kubelet refreshes projected files when a Secret changes (a rotated registry token is re-read). */}}
{{- define "cqrs.tlsDir" -}}/etc/cqrs/tls{{- end -}}
{{- define "cqrs.secretsDir" -}}/etc/cqrs/secrets{{- end -}}

{{/* A projected-volume source for one key of a Secret or ConfigMap, as YAML ({} when neither is
named). Call with (dict "source" .Values.kafka.security.ca "path" "kafka-ca.crt" "what" "kafka.security.ca"). */}}
{{- define "cqrs.fileSource" -}}
{{- $src := .source -}}
{{- if and $src.secret $src.configMap -}}
{{- fail (printf "%s: name a secret or a configMap, not both" .what) -}}
{{- end -}}
{{- if $src.secret -}}
{{- toYaml (dict "secret" (dict "name" $src.secret "items" (list (dict "key" $src.key "path" .path)))) -}}
{{- else if $src.configMap -}}
{{- toYaml (dict "configMap" (dict "name" $src.configMap "items" (list (dict "key" $src.key "path" .path)))) -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* One secret of a client identity as a file: from cred.existingSecret/passwordKey, or from
cred.password through the workload's chart-made Secret `secretName` under `createdKey`. Returns
YAML {source, created}. Call with (dict "cred" $cred "path" "kafka-password" "createdKey"
"kafka-password" "secretName" $name "what" "kafka.credentials.projector" "purpose" "its SASL password"). */}}
{{- define "cqrs.secretFile" -}}
{{- $cred := .cred -}}
{{- if and $cred.existingSecret $cred.password -}}
{{- fail (printf "%s: set existingSecret or password, not both" .what) -}}
{{- end -}}
{{- if $cred.existingSecret -}}
{{- toYaml (dict "source" (dict "secret" (dict "name" $cred.existingSecret "items" (list (dict "key" $cred.passwordKey "path" .path)))) "created" dict) -}}
{{- else if $cred.password -}}
{{- toYaml (dict "source" (dict "secret" (dict "name" .secretName "items" (list (dict "key" .createdKey "path" .path)))) "created" (dict .createdKey $cred.password)) -}}
{{- else -}}
{{- fail (printf "%s needs %s: set %s.existingSecret (and passwordKey), or %s.password for a Secret the chart creates" .what .purpose .what .what) -}}
{{- end -}}
{{- end -}}

{{/* What a workload needs to reach its dependencies securely, as YAML:
  config:  plain settings for its ConfigMap (protocols, user names, file paths: no secret)
  tls:     projected sources for cqrs.tlsDir (CA bundles, client certificates)
  secrets: projected sources for cqrs.secretsDir (passwords, tokens, private keys)
  created: key -> value for the workload's chart-made Secret `secretName` (inline passwords)
Call with (dict "root" $ "uses" $app.uses "role" $app.role "secretName" <name>); `role` picks the
identity in kafka.credentials and schemaRegistry.credentials. */}}
{{- define "cqrs.clientSecurity" -}}
{{- $V := .root.Values -}}
{{- $tlsDir := include "cqrs.tlsDir" .root -}}
{{- $secretsDir := include "cqrs.secretsDir" .root -}}
{{- $config := dict -}}
{{- $tls := list -}}
{{- $secrets := list -}}
{{- $created := dict -}}
{{- if has "postgres" .uses -}}
{{- $ca := include "cqrs.fileSource" (dict "source" $V.postgres.ca "path" "postgres-ca.crt" "what" "postgres.ca") | fromYaml -}}
{{- if and $ca (ne $V.postgres.sslMode "disable") -}}
{{- $tls = append $tls $ca -}}
{{- end -}}
{{- end -}}
{{- if has "kafka" .uses -}}
{{- $k := $V.kafka.security -}}
{{- $what := printf "kafka.credentials.%s" .role -}}
{{- $cred := index $V.kafka.credentials .role -}}
{{- $_ := set $config "KAFKA_SECURITY_PROTOCOL" $k.protocol -}}
{{- if has $k.protocol (list "SSL" "SASL_SSL") -}}
{{- $ca := include "cqrs.fileSource" (dict "source" $k.ca "path" "kafka-ca.crt" "what" "kafka.security.ca") | fromYaml -}}
{{- if $ca -}}
{{- $tls = append $tls $ca -}}
{{- $_ := set $config "KAFKA_SSL_CA_FILE" (printf "%s/kafka-ca.crt" $tlsDir) -}}
{{- end -}}
{{- with $cred.certificate.secret -}}
{{- $tls = append $tls (dict "secret" (dict "name" . "items" (list (dict "key" $cred.certificate.certKey "path" "kafka-client.crt")))) -}}
{{- $secrets = append $secrets (dict "secret" (dict "name" . "items" (list (dict "key" $cred.certificate.keyKey "path" "kafka-client.key")))) -}}
{{- $_ := set $config "KAFKA_SSL_CERT_FILE" (printf "%s/kafka-client.crt" $tlsDir) -}}
{{- $_ := set $config "KAFKA_SSL_KEY_FILE" (printf "%s/kafka-client.key" $secretsDir) -}}
{{- end -}}
{{- else if $cred.certificate.secret -}}
{{- fail (printf "%s.certificate: a client certificate needs kafka.security.protocol SSL or SASL_SSL (it is %s)" $what $k.protocol) -}}
{{- end -}}
{{- if hasPrefix "SASL_" $k.protocol -}}
{{- $_ := set $config "KAFKA_SASL_MECHANISM" $k.mechanism -}}
{{- if eq $k.mechanism "OAUTHBEARER" -}}
{{- $file := include "cqrs.secretFile" (dict "cred" $cred "path" "kafka-oauth-client-secret" "createdKey" "kafka-password" "secretName" .secretName "what" $what "purpose" "its OAuth client secret") | fromYaml -}}
{{- $secrets = append $secrets $file.source -}}
{{- $created = merge $created $file.created -}}
{{- $_ := set $config "KAFKA_SASL_OAUTHBEARER_TOKEN_URL" (required "kafka.security.oauthbearer.tokenUrl is required with mechanism OAUTHBEARER: the token endpoint of the client-credentials grant" $k.oauthbearer.tokenUrl) -}}
{{- $_ := set $config "KAFKA_SASL_OAUTHBEARER_CLIENT_ID" (required (printf "%s.username is required: the OAuth client id" $what) $cred.username) -}}
{{- $_ := set $config "KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE" (printf "%s/kafka-oauth-client-secret" $secretsDir) -}}
{{- with $k.oauthbearer.scope -}}
{{- $_ := set $config "KAFKA_SASL_OAUTHBEARER_SCOPE" . -}}
{{- end -}}
{{- else -}}
{{- $file := include "cqrs.secretFile" (dict "cred" $cred "path" "kafka-password" "createdKey" "kafka-password" "secretName" .secretName "what" $what "purpose" "its SASL password") | fromYaml -}}
{{- $secrets = append $secrets $file.source -}}
{{- $created = merge $created $file.created -}}
{{- $_ := set $config "KAFKA_SASL_USERNAME" (required (printf "%s.username is required: the SASL user" $what) $cred.username) -}}
{{- $_ := set $config "KAFKA_SASL_PASSWORD_FILE" (printf "%s/kafka-password" $secretsDir) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if has "schemaRegistry" .uses -}}
{{- $r := $V.schemaRegistry -}}
{{- $what := printf "schemaRegistry.credentials.%s" .role -}}
{{- $cred := index $r.credentials .role -}}
{{- $ca := include "cqrs.fileSource" (dict "source" $r.ca "path" "registry-ca.crt" "what" "schemaRegistry.ca") | fromYaml -}}
{{- if $ca -}}
{{- $tls = append $tls $ca -}}
{{- $_ := set $config "SCHEMA_REGISTRY_CA_FILE" (printf "%s/registry-ca.crt" $tlsDir) -}}
{{- end -}}
{{- if eq $r.auth "basic" -}}
{{- $file := include "cqrs.secretFile" (dict "cred" $cred "path" "registry-password" "createdKey" "registry-password" "secretName" .secretName "what" $what "purpose" "its registry password") | fromYaml -}}
{{- $secrets = append $secrets $file.source -}}
{{- $created = merge $created $file.created -}}
{{- $_ := set $config "SCHEMA_REGISTRY_USERNAME" (required (printf "%s.username is required with schemaRegistry.auth=basic" $what) $cred.username) -}}
{{- $_ := set $config "SCHEMA_REGISTRY_PASSWORD_FILE" (printf "%s/registry-password" $secretsDir) -}}
{{- else if eq $r.auth "bearer" -}}
{{- $file := include "cqrs.secretFile" (dict "cred" $cred "path" "registry-token" "createdKey" "registry-token" "secretName" .secretName "what" $what "purpose" "its registry token") | fromYaml -}}
{{- $secrets = append $secrets $file.source -}}
{{- $created = merge $created $file.created -}}
{{- $_ := set $config "SCHEMA_REGISTRY_TOKEN_FILE" (printf "%s/registry-token" $secretsDir) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "config" $config "tls" $tls "secrets" $secrets "created" $created) -}}
{{- end -}}

{{/* The name of a workload's chart-made credentials Secret. Call with (dict "root" $ "component" "projector"). */}}
{{- define "cqrs.credentialsSecretName" -}}
{{- include "cqrs.componentName" (dict "root" .root "component" (printf "%s-credentials" .component)) -}}
{{- end -}}

{{/* The volumes of a workload's security files; call with (dict "root" $ "security" $sec). */}}
{{- define "cqrs.securityVolumes" -}}
{{- $mode := ternary 288 292 (not (kindIs "invalid" .root.Values.podSecurityContext.fsGroup)) -}}
{{- if .security.tls }}
# CA bundles and client certificates (public).
- name: tls
  projected:
    defaultMode: 292
    sources:
      {{- toYaml .security.tls | nindent 6 }}
{{- end }}
{{- if .security.secrets }}
# Passwords, tokens and private keys: readable by the pod's group ({{ if eq $mode 288 }}0440, fsGroup{{ else }}0444: no fsGroup to limit it to{{ end }}).
- name: secrets
  projected:
    defaultMode: {{ $mode }}
    sources:
      {{- toYaml .security.secrets | nindent 6 }}
{{- end }}
{{- end -}}

{{- define "cqrs.securityVolumeMounts" -}}
{{- if .security.tls }}
- name: tls
  mountPath: {{ include "cqrs.tlsDir" .root }}
  readOnly: true
{{- end }}
{{- if .security.secrets }}
- name: secrets
  mountPath: {{ include "cqrs.secretsDir" .root }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* The container's lifecycle.preStop: wait preStop.sleepSeconds before SIGTERM, so endpoints
drain first. */}}
{{- define "cqrs.preStop" -}}
{{- $p := .Values.preStop -}}
{{- if gt (int $p.sleepSeconds) 0 }}
preStop:
  {{- if eq $p.action "sleepAction" }}
  sleep:
    seconds: {{ int $p.sleepSeconds }}
  {{- else }}
  exec:
    command: ["/bin/sleep", {{ int $p.sleepSeconds | toString | quote }}]
  {{- end }}
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
{{- required "auth.oidc.issuerUrl is required: the OIDC issuer whose access tokens command-service, query-service and the projector's admin API accept, exactly as the tokens' iss (e.g. https://login.example.com/realms/cqrs); see docs/deployment.md" .Values.auth.oidc.issuerUrl -}}
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

{{/* An egress rule: `ports` (a list of {port, protocol}) to the peers of
networkPolicy.egress.<dependency>, which may not be empty (an empty `to` admits every destination). */}}
{{- define "cqrs.egressRule" -}}
{{- $peers := index .root.Values.networkPolicy.egress .dependency -}}
{{- if empty $peers -}}
{{- fail (printf "networkPolicy.egress.%s is empty, which would let the pods reach any address on its ports: name the peers (podSelector, namespaceSelector, ipBlock); to allow anywhere on purpose, write `- ipBlock: {cidr: 0.0.0.0/0}`" .dependency) -}}
{{- end }}
- ports:
    {{- range .ports }}
    - { port: {{ . }}, protocol: TCP }
    {{- end }}
  to:
    {{- toYaml $peers | nindent 4 }}
{{- end -}}

{{/* Egress every workload needs: DNS, to the cluster's DNS servers only. */}}
{{- define "cqrs.dnsEgress" -}}
{{- $peers := .Values.networkPolicy.egress.dns -}}
{{- if empty $peers -}}
{{- fail "networkPolicy.egress.dns is empty, which would let the pods reach any address on port 53: name the cluster DNS (the default selects kube-dns in kube-system)" -}}
{{- end -}}
- ports:
    - { port: 53, protocol: UDP }
    - { port: 53, protocol: TCP }
  to:
    {{- toYaml $peers | nindent 4 }}
{{- end -}}
