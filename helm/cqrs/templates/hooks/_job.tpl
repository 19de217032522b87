{{/* A pre-install/pre-upgrade Job running one step of the migrations image
(tools/deploy/image/migrations.sh <step>). Call with (dict "root" $ "step" "database" "weight" "-10").
Hooks run before the release's other resources exist, so a Job may use only hook resources of a
lower weight (its ServiceAccount, its NetworkPolicy) and Secrets that already exist. */}}
{{- define "cqrs.hookJob" -}}
{{- $root := .root -}}
{{- $m := $root.Values.migrations -}}
{{- $component := printf "migrate-%s" .step -}}
{{- $ctx := dict "root" $root "component" $component -}}
{{- $uses := ternary (list "postgres") (list "schemaRegistry") (eq .step "database") -}}
{{- $security := include "cqrs.clientSecurity" (dict "root" $root "uses" $uses "role" "migrations" "secretName" (include "cqrs.credentialsSecretName" $ctx)) | fromYaml -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "cqrs.componentName" $ctx }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "cqrs.componentLabels" $ctx | nindent 4 }}
    cqrs.io/hook-job: "true"
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: {{ .weight | quote }}
    # Kept after success so `kubectl logs job/...` works; replaced on the next upgrade.
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  backoffLimit: {{ $m.backoffLimit }}
  activeDeadlineSeconds: {{ $m.activeDeadlineSeconds }}
  ttlSecondsAfterFinished: {{ $m.ttlSecondsAfterFinished }}
  template:
    metadata:
      labels:
        {{- include "cqrs.selectorLabels" $ctx | nindent 8 }}
        cqrs.io/hook-job: "true"
    spec:
      restartPolicy: Never
      serviceAccountName: {{ include "cqrs.componentName" (dict "root" $root "component" "hooks") }}
      automountServiceAccountToken: false
      {{- with $root.Values.image.pullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "cqrs.podSecurityContext" $root | nindent 8 }}
      {{- with $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $component }}
          image: {{ include "cqrs.image" (dict "root" $root "image" $m.image) | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ .step | quote }}]
          env:
            {{- if eq .step "database" }}
            {{- include "cqrs.databaseUrlEnv" (dict "root" $root "name" "MIGRATIONS_WRITE_DATABASE_URL" "role" "owner" "database" "write") | trim | nindent 12 }}
            {{- include "cqrs.databaseUrlEnv" (dict "root" $root "name" "MIGRATIONS_READ_DATABASE_URL" "role" "owner" "database" "read" "uriKey" "readUriKey" "skipCredentials" true) | trim | nindent 12 }}
            {{- else }}
            - name: SCHEMA_REGISTRY_URL
              value: {{ $root.Values.schemaRegistry.url | quote }}
            {{- end }}
            {{- /* Paths and user names only: the secrets themselves are files. */}}
            {{- range $name, $value := $security.config }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
            {{- include "cqrs.otelEnv" (dict "root" $root "service" $component) | nindent 12 }}
          resources:
            {{- toYaml $m.resources | nindent 12 }}
          securityContext:
            {{- include "cqrs.containerSecurityContext" $root | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- include "cqrs.securityVolumeMounts" (dict "root" $root "security" $security) | nindent 12 }}
      volumes:
        # npm's cache and logs (HOME=/tmp in the image); the root filesystem is read-only.
        - name: tmp
          emptyDir:
            sizeLimit: 256Mi
        {{- include "cqrs.securityVolumes" (dict "root" $root "security" $security) | nindent 8 }}
{{- end -}}
