import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ControlPlane, ensureCrds, groupAlive, installCrds, removeCrds, startControlPlane } from './lib/control-plane';
import { CHART, HelmResult, Manifest } from './lib/helm';
import { KubeApi, KubeObject, waitFor } from './lib/kube-api';
import { must } from './lib/must';
import { eventTopics, readRepoFile, repoRoot } from './lib/repo';
import {
  ClusterTarget,
  describeObject,
  helmAt,
  kubectlAt,
  ValueOptions,
  verifyRelease,
  VerifyReport,
} from './lib/verify';

// `helm install` of the chart against a real Kubernetes API server: etcd, kube-apiserver and
// kube-controller-manager of a pinned release, built from the Go module proxy by
// tools/scripts/ensure-kube.sh (once per machine) and run on loopback by lib/control-plane.ts; the
// CRDs of the optional resources come from the operators' published artifacts
// (tools/scripts/ensure-crds.sh). No kubelet runs, so no Pod ever starts: the hooks' Jobs would
// never finish, and installs run with --no-hooks while the hooks get a server-side dry run.
// Each namespace enforces the `restricted` Pod Security Standard, so every Pod the controllers
// create, and every pod template (warnings), is judged by the server's own admission.

/** The Kubernetes versions the chart is tested on (docs/deployment.md); CQRS_KUBE_VERSIONS overrides. */
const KUBE_VERSIONS = (process.env.CQRS_KUBE_VERSIONS ?? 'v1.31.4 v1.37.2').split(/[\s,]+/).filter(Boolean);

const RELEASE = 'demo';
const REQUIRED = 'tools/deploy/src/fixtures/required-values.yaml';
const EVERYTHING = 'tools/deploy/src/fixtures/cluster-values.yaml';
const MARKER = 'inline-marker-';
/** The Secrets cluster-values.yaml names (existingSecret, ca.secret, headersSecret) with the keys it names. */
const EXISTING_SECRETS: Record<string, string[]> = {
  'cqrs-db-owner': ['username', 'password'],
  'cqrs-db-command': ['username', 'password'],
  'cqrs-db-relay': ['username', 'password'],
  'cqrs-db-projector': ['username', 'password'],
  'cqrs-db-query': ['username', 'password'],
  'cqrs-relay': ['password'],
  'cqrs-postgres-ca': ['ca.crt'],
  'cqrs-kafka-cluster-ca-cert': ['ca.crt'],
  'registry-command': ['password'],
  'otlp-auth': ['headers'],
};
const APPS = {
  relay: ['command-service', 'query-service', 'projector', 'outbox-relay'],
  debezium: ['command-service', 'query-service', 'projector'],
};
const AUTOSCALED = ['command-service', 'query-service', 'projector'];
/** The chart's Strimzi kinds, and those docs/deployment.md shows (the Kafka, its users, the Connect cluster). */
const STRIMZI_KINDS = ['kafkatopic', 'kafkaconnector', 'kafka', 'kafkauser', 'kafkaconnect'];

/** The Strimzi resources docs/deployment.md shows, from its ```yaml blocks (indented ones too). */
function docsStrimziResources(): string {
  const blocks = [...readRepoFile('docs/deployment.md').matchAll(/^( *)```yaml\n([\s\S]*?)^\1```$/gm)].map(
    ([, indent, body]) =>
      body
        .split('\n')
        .map((line) => line.slice(indent.length))
        .join('\n'),
  );
  return blocks.filter((block) => block.includes('kafka.strimzi.io/')).join('---\n');
}

/**
 * Values at the edges of what values.schema.json allows, each a --set-json map over the required
 * values: the server must accept every object they render.
 */
const EDGES: Record<string, Record<string, unknown>> = {
  'the smallest install (every optional block off, one replica each, no fixed ids, no preStop)': {
    'networkPolicy.enabled': false,
    'podDisruptionBudget.enabled': false,
    'serviceAccount.create': false,
    'commandService.autoscaling.enabled': false,
    'queryService.autoscaling.enabled': false,
    'projector.autoscaling.enabled': false,
    'commandService.replicas': 1,
    'queryService.replicas': 1,
    'projector.replicas': 1,
    'outboxRelay.replicas': 1,
    podSecurityContext: { runAsUser: null, runAsGroup: null, fsGroup: null },
    'preStop.sleepSeconds': 0,
    terminationGracePeriodSeconds: 16,
    'migrations.backoffLimit': 0,
    'migrations.activeDeadlineSeconds': 1,
    'migrations.ttlSecondsAfterFinished': 0,
    'networkPolicy.apiClients': [],
    'networkPolicy.metricsScrapers': [],
  },
  'the largest (every optional block, bounds at their limits, every map and list filled)': {
    'outbox.mode': 'debezium',
    'kafka.topicPartitions': 1000,
    'kafka.topics': {
      create: true,
      cluster: 'c'.repeat(63),
      replicas: 32767,
      names: ['tasks.task.events', 'tasks.task.events.dlq', `t${'x'.repeat(248)}`],
      config: { 'min.insync.replicas': 2, 'compression.type': 'zstd', 'unclean.leader.election.enable': false },
      dlqRetentionMs: 3600000,
    },
    'kafka.eventTopicRetentionMs': 3600000,
    'outbox.debezium.connectCluster': 'k'.repeat(63),
    'outbox.debezium.config': { 'heartbeat.interval.ms': 10000, 'snapshot.mode': 'no_data' },
    'metrics.serviceMonitor': {
      enabled: true,
      interval: '15s',
      scrapeTimeout: '10s',
      labels: { release: 'kube-prometheus-stack' },
    },
    'metrics.prometheusRule': {
      enabled: true,
      labels: { release: 'kube-prometheus-stack' },
      groups: [{ name: 'cqrs', rules: [{ alert: 'Up', expr: 'up == 0' }] }],
    },
    'metrics.grafanaDashboard': {
      enabled: true,
      labels: { grafana_dashboard: '1' },
      annotations: { grafana_folder: 'CQRS' },
    },
    otel: {
      enabled: true,
      endpoint: 'https://otel.example.com:4318/v1',
      protocol: 'grpc',
      headersSecret: { name: 'otlp-auth', key: 'headers' },
      sampler: { name: 'traceidratio', ratio: 1 },
      resourceAttributes: { 'deployment.environment.name': 'prod', 'service.instance.count': 3, canary: true },
    },
    image: {
      registry: 'registry.example.com:5000/platform/team',
      tag: 'v1.2.3_rc-1',
      pullPolicy: 'Always',
      pullSecrets: [{ name: 'registry-credentials' }],
    },
    'commandService.image': {
      repository: 'cqrs/command-service',
      tag: 'T'.repeat(128),
      digest: `sha256:${'a'.repeat(64)}`,
    },
    'commandService.port': 65535,
    'commandService.managementPort': 1,
    'commandService.autoscaling': {
      enabled: true,
      minReplicas: 1,
      maxReplicas: 1000,
      targetCPUUtilizationPercentage: 100,
    },
    'commandService.resources': {
      requests: { cpu: 0.5, memory: '1Gi', 'ephemeral-storage': '1Gi' },
      limits: { cpu: 2, memory: '1Gi' },
    },
    'commandService.env': { SNAPSHOT_EVERY: 100, FEATURE_FLAG: true, _UNDERSCORE: 'x' },
    'commandService.extraEnv': [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
    'commandService.affinity': {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] },
          ],
        },
      },
    },
    'projector.autoscaling': { enabled: true, minReplicas: 1000, maxReplicas: 1000, targetCPUUtilizationPercentage: 1 },
    podLabels: { 'example.com/team': 'x'.repeat(63), tier: 'backend' },
    podAnnotations: { 'example.com/note': 'any text: spaces, "quotes" and ünïcode' },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cqrs', effect: 'NoSchedule' }],
    podSecurityContext: { runAsUser: 2147483647, runAsGroup: 0, fsGroup: 0 },
    preStop: { sleepSeconds: 30, action: 'sleepAction' },
    terminationGracePeriodSeconds: 3600,
    'podDisruptionBudget.maxUnavailable': '100%',
    'serviceAccount.annotations': { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/cqrs' },
    'networkPolicy.extraEgress': [
      { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 443, protocol: 'TCP' }] },
    ],
    'auth.corsOrigins': ['https://a.example.com', 'http://localhost:3000'],
    'auth.rateLimit': { requests: 0, windowMs: 1 },
  },
};

/**
 * Values the server refuses, which values.schema.json therefore refuses first (each a --set-json
 * map over the required values, and what the server says when the schema is skipped).
 */
const REFUSED: Record<string, { set: Record<string, unknown>; server: RegExp }> = {
  'a PodDisruptionBudget above 100%': {
    set: { 'podDisruptionBudget.maxUnavailable': '101%' },
    server: /must not be greater than 100%/,
  },
  'a Strimzi cluster name longer than a label value': {
    set: { 'kafka.topics.create': true, 'kafka.topics.cluster': 'c'.repeat(64) },
    server: /must be no more than 63 (characters|bytes)/,
  },
  'more replicas of a KafkaTopic than Strimzi allows': {
    set: { 'kafka.topics.create': true, 'kafka.topics.replicas': 32768 },
    server: /less than or equal to 32767/,
  },
  'a NetworkPolicy peer ipBlock without its cidr': {
    set: { 'networkPolicy.egress.postgres': [{ ipBlock: {} }] },
    server: /ipBlock\.cidr: Required value/,
  },
  'a pod label whose value is no label value': {
    set: { podLabels: { tier: 'has spaces' } },
    server: /a valid label must be/,
  },
  'a pod annotation whose key is no qualified name': {
    set: { podAnnotations: { 'not a key': 'x' } },
    server: /name part must consist of alphanumeric characters/,
  },
};

const component = (o: { metadata: { labels?: Record<string, string> } }) =>
  o.metadata.labels?.['app.kubernetes.io/component'];

/** A label selector object as the `labelSelector` query parameter. */
function selectorQuery(selector: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** The failed checks of a verify report, and its server warnings, as readable lines. */
const problems = (report: VerifyReport): string[] => [
  ...(report.helm.status === 0 ? [] : [`helm: ${report.helm.stderr.trim()}`]),
  ...report.checks.filter((c) => !c.ok).map((c) => `${c.object}: ${c.error}`),
  ...report.checks.flatMap((c) => c.warnings.map((w) => `${c.object}: warning: ${w}`)),
];

/** Helm's stderr lines that relay a warning of the API server (client-go's warning handler). */
const serverWarnings = (result: HelmResult): string[] =>
  result.stderr.split('\n').filter((line) => /warnings\.go|Warning:|deprecated/i.test(line));

const ok = (result: HelmResult, what: string): HelmResult => {
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}):\n${result.stderr}`);
  return result;
};

describe.each(KUBE_VERSIONS)('the chart on a Kubernetes %s API server', (kubeVersion) => {
  let plane: ControlPlane;
  let api: KubeApi;
  let crdDir: string;
  let strimziCrds: string[] = [];
  const target = (): ClusterTarget => ({ kubeconfig: plane.kubeconfig });
  const helm = (args: string[]) => helmAt(target(), args);
  const kubectl = () => join(plane.binDir, 'kubectl');
  const verify = (namespace: string, values: ValueOptions, extraArgs: string[] = []) =>
    verifyRelease({
      target: target(),
      kubectl: kubectl(),
      release: RELEASE,
      namespace,
      ...values,
      extraArgs,
      cacheDir: join(plane.dir, 'kubectl-cache'),
    });
  const crdFiles = (dir: string, kinds: string[]) =>
    readdirSync(join(crdDir, dir))
      .filter((f) => kinds.some((kind) => f.endsWith(`-Crd-${kind}.yaml`) || f.endsWith(`_${kind}s.yaml`)))
      .map((f) => join(crdDir, dir, f));

  async function createNamespace(name: string): Promise<void> {
    await api.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/warn-version': 'latest',
        },
      },
    });
  }

  async function createExistingSecrets(namespace: string): Promise<void> {
    for (const [name, keys] of Object.entries(EXISTING_SECRETS)) {
      const data = Object.fromEntries(
        keys.map((key) => [key, Buffer.from(`existing.${name}.${key}`).toString('base64')]),
      );
      await api.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data });
    }
  }

  /** The objects of the release's manifest (`helm get manifest`). */
  function releaseManifest(namespace: string): Manifest[] {
    const result = ok(helm(['get', 'manifest', RELEASE, '--namespace', namespace]), 'helm get manifest');
    return parseAllDocuments(result.stdout)
      .map((d) => d.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
  }

  const deployments = async (namespace: string) =>
    api.list('apps/v1', 'Deployment', namespace, `app.kubernetes.io/instance=${RELEASE}`);
  const podsOf = async (namespace: string, app: string) =>
    api.list('v1', 'Pod', namespace, `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=${app}`);

  beforeAll(async () => {
    plane = await startControlPlane({ version: kubeVersion });
    api = plane.api;
    crdDir = ensureCrds();
    await installCrds(api, crdFiles('prometheus-operator', ['servicemonitor', 'prometheusrule']));
    strimziCrds = await installCrds(api, crdFiles('strimzi', STRIMZI_KINDS));
  }, 60 * 60_000);

  afterAll(async () => {
    if (!plane) return;
    const groups = plane.groups;
    const dir = plane.dir;
    await plane.stop();
    const left = groups.filter(groupAlive);
    if (left.length) throw new Error(`processes left behind in groups ${left.join(', ')}`);
    if (existsSync(dir)) throw new Error(`${dir} left behind`);
  }, 60_000);

  test('the server is the version under test, and Helm sees it', () => {
    expect(plane.version).toBe(kubeVersion);
    const result = ok(
      helm(['install', 'probe', CHART, '--dry-run=server', '--namespace', 'default', '-f', REQUIRED, '-o', 'json']),
      'helm install --dry-run=server',
    );
    expect(JSON.parse(result.stdout).info.description).toBe('Dry run complete');
  });

  const docsExamplesAccepted = (namespace: string) => {
    const result = kubectlAt(kubectl(), target(), ['create', '--dry-run=server', '--namespace', namespace, '-f', '-'], {
      input: docsStrimziResources(),
      cacheDir: join(plane.dir, 'kubectl-cache'),
    });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout.trim().split('\n')).toHaveLength(4);
  };

  test('the Strimzi resources docs/deployment.md shows are accepted, with no deprecation warning', () =>
    docsExamplesAccepted('default'));

  describe.each(['relay', 'debezium'] as const)('outbox.mode=%s with every optional block on', (mode) => {
    const namespace = `cqrs-${mode}`;
    const values: ValueOptions = { files: [REQUIRED, EVERYTHING], set: { 'outbox.mode': mode } };
    const install = (extra: string[] = []) =>
      helm([
        'install',
        RELEASE,
        CHART,
        '--namespace',
        namespace,
        '--no-hooks',
        '-f',
        REQUIRED,
        '-f',
        EVERYTHING,
        '--set',
        `outbox.mode=${mode}`,
        ...extra,
      ]);
    let manifest: Manifest[] = [];

    beforeAll(async () => {
      await createNamespace(namespace);
      await createExistingSecrets(namespace);
    });

    test('helm install --dry-run=server renders the hooks, and the server admits every hook and object (server-side dry run)', () => {
      const report = verify(namespace, values);
      expect(problems(report)).toEqual([]);
      expect(report.mode).toBe('install');
      expect(report.hooks.map(describeObject).sort()).toEqual(
        [
          `ServiceAccount/${RELEASE}-cqrs-hooks (${namespace})`,
          `NetworkPolicy/${RELEASE}-cqrs-hooks (${namespace})`,
          `Secret/${RELEASE}-cqrs-migrate-schemas-credentials (${namespace})`,
          `Job/${RELEASE}-cqrs-migrate-database (${namespace})`,
          `Job/${RELEASE}-cqrs-migrate-schemas (${namespace})`,
        ].sort(),
      );
      expect(report.checks.filter((c) => c.hook)).toHaveLength(5);
      // Every object was a create: nothing of the release exists yet.
      expect(report.checks.every((c) => c.action === 'create')).toBe(true);
    });

    test('helm install creates every object, with no warning from the server', async () => {
      const result = ok(install(), 'helm install');
      expect(serverWarnings(result)).toEqual([]);
      manifest = releaseManifest(namespace);
      const kinds = [...new Set(manifest.map((m) => m.kind))].sort();
      expect(kinds).toEqual(
        [
          'ConfigMap',
          'Deployment',
          'HorizontalPodAutoscaler',
          'KafkaTopic',
          'NetworkPolicy',
          'PodDisruptionBudget',
          'PrometheusRule',
          'Secret',
          'Service',
          'ServiceAccount',
          'ServiceMonitor',
          ...(mode === 'debezium' ? ['KafkaConnector', 'Role', 'RoleBinding'] : []),
        ].sort(),
      );
      for (const object of manifest) {
        const held = await api.read(object.apiVersion, object.kind, object.metadata.name, object.metadata.namespace);
        expect({ object: describeObject(object), held: Boolean(held) }).toEqual({
          object: describeObject(object),
          held: true,
        });
        expect(held?.metadata.labels).toMatchObject(object.metadata.labels ?? {});
      }
      expect((await deployments(namespace)).map(component).sort()).toEqual([...APPS[mode]].sort());
    });

    test('deploy:verify of an upgrade of the live release: the server accepts every change (server-side apply, dry run)', () => {
      const report = verify(namespace, { ...values, set: { ...values.set, 'image.tag': '0.2.0', logLevel: 'debug' } });
      expect(problems(report)).toEqual([]);
      expect(report.mode).toBe('upgrade');
      expect(report.checks.filter((c) => !c.hook).map((c) => c.action)).toEqual(report.objects.map(() => 'apply'));
      expect(report.checks.filter((c) => c.hook).map((c) => c.action)).toEqual(report.hooks.map(() => 'create'));
    });

    test('the server holds probes on the management port and restricted security contexts', async () => {
      for (const deployment of await deployments(namespace)) {
        const pod = deployment.spec.template.spec;
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 1000,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        for (const container of pod.containers) {
          const ports = Object.fromEntries(
            (container.ports as { name: string; containerPort: number }[]).map((p) => [p.name, p.containerPort]),
          );
          expect(ports['management']).toBeGreaterThan(0);
          for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
            expect({ app: component(deployment), probe, port: container[probe]?.httpGet?.port }).toEqual({
              app: component(deployment),
              probe,
              port: 'management',
            });
          if (ports['http']) expect(ports['http']).not.toBe(ports['management']);
          expect(container.securityContext).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            privileged: false,
            capabilities: { drop: ['ALL'] },
          });
        }
        // Its Service sends `management` to the pods' management port.
        const service = must(
          await api.read('v1', 'Service', deployment.metadata.name, namespace),
          `Service ${deployment.metadata.name}`,
        );
        expect(service.spec.ports.find((p: { name: string }) => p.name === 'management')?.targetPort).toBe(
          'management',
        );
      }
    });

    test('Deployments become ReplicaSets and Pods that the restricted Pod Security admission lets in', async () => {
      for (const app of APPS[mode]) {
        const pods = await waitFor(`${app}'s pods`, async () => {
          const found = await podsOf(namespace, app);
          return found.length >= 2 && found;
        });
        expect(pods.length).toBe(2);
      }
      for (const rs of await api.list('apps/v1', 'ReplicaSet', namespace)) {
        const failure = (rs.status?.conditions ?? []).find((c: { type: string }) => c.type === 'ReplicaFailure');
        expect({ rs: rs.metadata.name, failure }).toEqual({ rs: rs.metadata.name, failure: undefined });
      }
    });

    if (mode === 'relay') {
      test("the relay runs two replicas, spread over nodes by its pods' anti-affinity, and never surges to a third", async () => {
        const relay = must(
          (await deployments(namespace)).find((d) => component(d) === 'outbox-relay'),
          'the relay Deployment',
        );
        expect(relay.spec.replicas).toBe(2);
        expect(relay.spec.strategy).toEqual({
          type: 'RollingUpdate',
          rollingUpdate: { maxSurge: 0, maxUnavailable: 1 },
        });
        const [term] =
          relay.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
        expect(term.weight).toBe(100);
        expect(term.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
        // The anti-affinity selects exactly the relay's own pods (the server evaluates the selector).
        const selected = await api.list('v1', 'Pod', namespace, selectorQuery(term.podAffinityTerm.labelSelector));
        expect(selected.map((p) => component(p))).toEqual(['outbox-relay', 'outbox-relay']);
        for (const pod of selected) expect(pod.spec.affinity).toEqual(relay.spec.template.spec.affinity);
      });
    }

    test('Secrets are referenced by name and key, and no secret value is inlined in any other object', async () => {
      const chartSecrets = manifest.filter((m) => m.kind === 'Secret').map((m) => m.metadata.name);
      const secrets = new Map((await api.list('v1', 'Secret', namespace)).map((s) => [s.metadata.name, s]));
      const references: { pod: string; name: string; key: string }[] = [];
      const pods = await api.list('v1', 'Pod', namespace, `app.kubernetes.io/instance=${RELEASE}`);
      for (const pod of pods) {
        for (const container of pod.spec.containers) {
          for (const variable of container.env ?? []) {
            const ref = variable.valueFrom?.secretKeyRef;
            if (ref) references.push({ pod: component(pod) ?? '', name: ref.name, key: ref.key });
          }
          expect(container.envFrom?.some((e: { secretRef?: unknown }) => e.secretRef) ?? false).toBe(false);
        }
        for (const volume of pod.spec.volumes ?? []) {
          const sources = volume.projected?.sources ?? [volume];
          for (const source of sources) {
            if (!source.secret) continue;
            const name = source.secret.secretName ?? source.secret.name;
            for (const item of source.secret.items ?? [])
              references.push({ pod: component(pod) ?? '', name, key: item.key });
          }
        }
      }
      expect(references.length).toBeGreaterThan(10);
      for (const ref of references) {
        const secret = secrets.get(ref.name);
        const known = chartSecrets.includes(ref.name) || ref.name in EXISTING_SECRETS;
        expect({ ...ref, known, hasKey: Boolean(secret?.data?.[ref.key]) }).toEqual({
          ...ref,
          known: true,
          hasKey: true,
        });
      }
      // The inline credentials are in the chart's Secrets...
      const inChartSecrets = chartSecrets
        .flatMap((name) => Object.values(secrets.get(name)?.data ?? {}))
        .map((v) => Buffer.from(v, 'base64').toString());
      expect(inChartSecrets.filter((v) => v.startsWith(MARKER)).sort()).toEqual(
        ['inline-marker-kafka-projector', 'inline-marker-registry-projector'].sort(),
      );
      // ...and nowhere else: not in any other object the server holds, not even base64-encoded.
      const markers = [
        'inline-marker-kafka-projector',
        'inline-marker-registry-projector',
        'inline-marker-registry-migrations',
      ];
      const encoded = markers.map((m) => Buffer.from(m).toString('base64'));
      const others: KubeObject[] = [
        ...pods,
        ...(await api.list('apps/v1', 'ReplicaSet', namespace)),
        ...(await Promise.all(
          manifest
            .filter((m) => m.kind !== 'Secret')
            .map(async (m) =>
              must(await api.read(m.apiVersion, m.kind, m.metadata.name, namespace), describeObject(m)),
            ),
        )),
      ];
      for (const object of others) {
        const text = JSON.stringify(object);
        expect({
          object: `${object.kind}/${object.metadata.name}`,
          inlined: [...markers, ...encoded].filter((m) => text.includes(m)),
        }).toEqual({
          object: `${object.kind}/${object.metadata.name}`,
          inlined: [],
        });
      }
      if (mode === 'debezium') {
        // Debezium reads the relay role's credentials through Strimzi's secrets config provider.
        const connector = must(
          manifest.find((m) => m.kind === 'KafkaConnector'),
          'the KafkaConnector',
        );
        const held = must(
          await api.read(connector.apiVersion, 'KafkaConnector', connector.metadata.name, namespace),
          'KafkaConnector',
        );
        expect(held.spec.config['database.user']).toBe(`\${secrets:${namespace}/cqrs-db-relay:username}`);
        expect(held.spec.config['database.password']).toBe(`\${secrets:${namespace}/cqrs-db-relay:password}`);
        const role = must(
          manifest.find((m) => m.kind === 'Role'),
          'the Role',
        );
        expect(
          (await api.read('rbac.authorization.k8s.io/v1', 'Role', role.metadata.name, namespace))?.['rules'],
        ).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: ['cqrs-db-relay'], verbs: ['get'] }]);
      }
    });

    test('the controllers evaluate the HPAs (raising the Deployments to minReplicas) and the PDBs (counting the pods)', async () => {
      for (const app of AUTOSCALED) {
        const hpa = must(
          (await api.list('autoscaling/v2', 'HorizontalPodAutoscaler', namespace)).find((h) => component(h) === app),
          `${app}'s HPA`,
        );
        // The chart leaves replicas to the HPA: the server defaults 1, the HPA controller raises it to minReplicas.
        await waitFor(`${app} scaled to ${hpa.spec.minReplicas} by its HPA`, async () => {
          const deployment = must(
            await api.read('apps/v1', 'Deployment', hpa.spec.scaleTargetRef.name, namespace),
            app,
          );
          return deployment.spec.replicas === hpa.spec.minReplicas;
        });
        const evaluated = await waitFor(`${app}'s HPA status`, async () => {
          const held = await api.read('autoscaling/v2', 'HorizontalPodAutoscaler', hpa.metadata.name, namespace);
          return held?.status?.conditions?.length ? held : undefined;
        });
        expect(evaluated.status.conditions.find((c: { type: string }) => c.type === 'AbleToScale')?.status).toBe(
          'True',
        );
      }
      for (const pdb of await api.list('policy/v1', 'PodDisruptionBudget', namespace)) {
        const app = component(pdb) ?? '';
        const pods = await podsOf(namespace, app);
        const held = await waitFor(`${app}'s PDB status`, async () => {
          const current = await api.read('policy/v1', 'PodDisruptionBudget', pdb.metadata.name, namespace);
          return (
            current?.status?.observedGeneration === current?.metadata['generation'] &&
            current?.status?.expectedPods === pods.length &&
            current
          );
        });
        // No pod runs (no kubelet), so no disruption is allowed: the budget counts the right pods.
        expect({ app, expected: held.status.expectedPods, allowed: held.status.disruptionsAllowed }).toEqual({
          app,
          expected: pods.length,
          allowed: 0,
        });
      }
    });

    test('NetworkPolicies, the ServiceMonitor and the PDBs select the pods and Services they are meant for', async () => {
      for (const policy of await api.list('networking.k8s.io/v1', 'NetworkPolicy', namespace)) {
        const selected = await api.list('v1', 'Pod', namespace, selectorQuery(policy.spec.podSelector));
        expect({ policy: policy.metadata.name, apps: [...new Set(selected.map(component))] }).toEqual({
          policy: policy.metadata.name,
          apps: [component(policy)],
        });
      }
      const [monitor] = await api.list('monitoring.coreos.com/v1', 'ServiceMonitor', namespace);
      const scraped = await api.list('v1', 'Service', namespace, selectorQuery(monitor.spec.selector));
      expect(scraped.map(component).sort()).toEqual([...APPS[mode]].sort());
      expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'management', path: '/metrics' })]);
      const [rule] = await api.list('monitoring.coreos.com/v1', 'PrometheusRule', namespace);
      expect(rule.spec.groups.length).toBeGreaterThan(0);
      const topics = await api.list(
        (await api.serves('kafka.strimzi.io/v1', 'KafkaTopic')) ? 'kafka.strimzi.io/v1' : 'kafka.strimzi.io/v1beta2',
        'KafkaTopic',
        namespace,
      );
      expect(topics.map((t) => t.spec.topicName).sort()).toEqual(
        eventTopics()
          .flatMap((t) => [t, `${t}.dlq`])
          .sort(),
      );
      for (const topic of topics) expect(topic.spec.partitions).toBe(6);
    });

    test('helm upgrade with changed values changes what the server holds, and rolls the pods', async () => {
      const result = ok(
        helm([
          'upgrade',
          RELEASE,
          CHART,
          '--namespace',
          namespace,
          '--no-hooks',
          '-f',
          REQUIRED,
          '-f',
          EVERYTHING,
          '--set',
          `outbox.mode=${mode}`,
          '--set-json',
          'image.tag="0.2.0"',
          '--set-json',
          'logLevel="debug"',
          '--set-json',
          'commandService.autoscaling.minReplicas=3',
          '--set-json',
          'kafka.topicPartitions=12',
          '--set-json',
          'podDisruptionBudget.maxUnavailable="50%"',
        ]),
        'helm upgrade',
      );
      expect(serverWarnings(result)).toEqual([]);
      const history = JSON.parse(
        ok(helm(['history', RELEASE, '--namespace', namespace, '-o', 'json']), 'helm history').stdout,
      );
      expect(history.map((h: { revision: number; status: string }) => [h.revision, h.status])).toEqual([
        [1, 'superseded'],
        [2, 'deployed'],
      ]);
      for (const deployment of await deployments(namespace))
        expect(deployment.spec.template.spec.containers[0].image).toMatch(/:0\.2\.0$/);
      const config = must(
        await api.read('v1', 'ConfigMap', `${RELEASE}-cqrs-projector`, namespace),
        'the projector ConfigMap',
      );
      expect(config.data?.['LOG_LEVEL']).toBe('debug');
      await waitFor('command-service scaled to 3 by its HPA', async () => {
        const deployment = await api.read('apps/v1', 'Deployment', `${RELEASE}-cqrs-command-service`, namespace);
        return deployment?.spec.replicas === 3;
      });
      for (const pdb of await api.list('policy/v1', 'PodDisruptionBudget', namespace))
        expect(pdb.spec.maxUnavailable).toBe('50%');
      const topicVersion = (await api.serves('kafka.strimzi.io/v1', 'KafkaTopic'))
        ? 'kafka.strimzi.io/v1'
        : 'kafka.strimzi.io/v1beta2';
      for (const topic of await api.list(topicVersion, 'KafkaTopic', namespace)) expect(topic.spec.partitions).toBe(12);
      // A new ReplicaSet per Deployment: the changed image and config roll the pods.
      for (const app of APPS[mode]) {
        await waitFor(`${app}'s new ReplicaSet`, async () => {
          const sets = await api.list('apps/v1', 'ReplicaSet', namespace, `app.kubernetes.io/component=${app}`);
          return (
            sets.length === 2 &&
            sets.some((s) => s.spec.template.spec.containers[0].image.endsWith(':0.2.0') && s.spec.replicas > 0)
          );
        });
      }
      if (mode === 'relay') {
        // maxSurge 0: the new relay replaces a stopped one; there are never three.
        await waitFor('the relay rollout to stall at one new pod', async () =>
          (await podsOf(namespace, 'outbox-relay')).some((p) => p.spec.containers[0].image.endsWith(':0.2.0')),
        );
        for (let i = 0; i < 5; i++) {
          expect(
            (await podsOf(namespace, 'outbox-relay')).filter((p) => !p.metadata['deletionTimestamp']).length,
          ).toBeLessThanOrEqual(2);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    });

    test('helm rollback restores the first revision', async () => {
      ok(helm(['rollback', RELEASE, '1', '--namespace', namespace, '--no-hooks']), 'helm rollback');
      const history = JSON.parse(
        ok(helm(['history', RELEASE, '--namespace', namespace, '-o', 'json']), 'helm history').stdout,
      );
      expect(history.at(-1)).toMatchObject({ revision: 3, status: 'deployed', description: 'Rollback to 1' });
      for (const deployment of await deployments(namespace))
        expect(deployment.spec.template.spec.containers[0].image).toMatch(/:0\.1\.0$/);
      const config = must(
        await api.read('v1', 'ConfigMap', `${RELEASE}-cqrs-projector`, namespace),
        'the projector ConfigMap',
      );
      expect(config.data?.['LOG_LEVEL']).toBe('info');
      const hpa = must(
        await api.read('autoscaling/v2', 'HorizontalPodAutoscaler', `${RELEASE}-cqrs-command-service`, namespace),
        'HPA',
      );
      expect(hpa.spec.minReplicas).toBe(2);
      for (const pdb of await api.list('policy/v1', 'PodDisruptionBudget', namespace))
        expect(pdb.spec.maxUnavailable).toBe(1);
      // The rolled-back manifest is the first one again.
      expect(releaseManifest(namespace).map(describeObject).sort()).toEqual(manifest.map(describeObject).sort());
    });

    test('helm uninstall removes the release, keeps the KafkaTopics (resource-policy: keep), and the garbage collector removes the pods', async () => {
      const result = ok(
        helm(['uninstall', RELEASE, '--namespace', namespace, '--wait', '--timeout', '2m']),
        'helm uninstall',
      );
      expect(result.stdout).toMatch(/kept due to the resource policy/);
      for (const object of manifest) {
        const held = await api.read(object.apiVersion, object.kind, object.metadata.name, namespace);
        expect({ object: describeObject(object), held: Boolean(held) }).toEqual({
          object: describeObject(object),
          held: object.kind === 'KafkaTopic',
        });
      }
      await waitFor(
        'the pods and ReplicaSets to be collected',
        async () => {
          const left = [
            ...(await api.list('v1', 'Pod', namespace, `app.kubernetes.io/instance=${RELEASE}`)),
            ...(await api.list('apps/v1', 'ReplicaSet', namespace, `app.kubernetes.io/instance=${RELEASE}`)),
          ];
          return left.length === 0;
        },
        60_000,
      );
      expect(helm(['status', RELEASE, '--namespace', namespace]).status).not.toBe(0);
      for (const topic of manifest.filter((m) => m.kind === 'KafkaTopic')) await api.delete(topic);
    });
  });

  describe('values.schema.json agrees with the server', () => {
    const namespace = 'cqrs-values';
    const ciFiles = readdirSync(join(repoRoot(), CHART, 'ci'))
      .filter((f) => f.endsWith('-values.yaml'))
      .sort();

    beforeAll(() => createNamespace(namespace));

    test.each(ciFiles)('ci/%s: the server accepts every object and hook', (file) => {
      expect(problems(verify(namespace, { files: [`${CHART}/ci/${file}`] }))).toEqual([]);
    });

    test.each(Object.entries(EDGES))('%s: the server accepts every object and hook', (_, set) => {
      expect(problems(verify(namespace, { files: [REQUIRED], set }))).toEqual([]);
    });

    test.each(Object.entries(REFUSED))(
      '%s: values.schema.json refuses it, and so does the server when the schema is skipped',
      (_, { set, server }) => {
        const checked = verify(namespace, { files: [REQUIRED], set });
        expect(checked.helm.status).not.toBe(0);
        expect(checked.helm.stderr).toMatch(/values don't meet the specifications of the schema/);
        const unchecked = verify(namespace, { files: [REQUIRED], set }, ['--skip-schema-validation']);
        expect(unchecked.ok).toBe(false);
        expect(problems(unchecked).join('\n')).toMatch(server);
      },
    );

    test('a release name too long for the component names fails in the chart, naming the clash (the server would refuse the second object)', () => {
      const long = verify(namespace, { files: [REQUIRED], set: { fullnameOverride: 'f'.repeat(55) } });
      expect(long.helm.status).not.toBe(0);
      expect(long.helm.stderr).toMatch(/migrate-database and migrate-schemas would both be named/);
      const topics = verify(namespace, {
        files: [REQUIRED],
        set: { 'kafka.topics.create': true, 'kafka.topics.names': ['a.b', 'a_b'] },
      });
      expect(topics.helm.stderr).toMatch(/a\.b and a_b would both be the KafkaTopic/);
      expect(problems(verify(namespace, { files: [REQUIRED], set: { fullnameOverride: 'f'.repeat(35) } }))).toEqual([]);
    });

    test('a value no schema can judge (a memory request above its limit) fails at the server, and helm install fails', () => {
      const set = { 'projector.resources': { requests: { cpu: '100m', memory: '1Gi' }, limits: { memory: '512Mi' } } };
      const report = verify(namespace, { files: [REQUIRED], set });
      expect(report.helm.status).toBe(0);
      expect(report.checks.filter((c) => !c.ok).map((c) => c.object)).toEqual([
        `Deployment/${RELEASE}-cqrs-projector (${namespace})`,
      ]);
      expect(problems(report).join('\n')).toMatch(/must be less than or equal to memory limit/);
      const install = helm([
        'install',
        'refused',
        CHART,
        '--namespace',
        namespace,
        '--no-hooks',
        '-f',
        REQUIRED,
        '--set-json',
        `projector.resources=${JSON.stringify(set['projector.resources'])}`,
      ]);
      expect(install.status).not.toBe(0);
      expect(install.stderr).toMatch(/must be less than or equal to memory limit/);
      helm(['uninstall', 'refused', '--namespace', namespace]);
    });
  });

  // Last: swaps the Strimzi CRDs for those of Strimzi 1.x.
  test('on Strimzi 1.x, which serves kafka.strimzi.io/v1 only, the KafkaTopics and the KafkaConnector install as v1', async () => {
    await removeCrds(api, strimziCrds);
    strimziCrds = await installCrds(api, crdFiles('strimzi-v1', STRIMZI_KINDS));
    expect(await api.serves('kafka.strimzi.io/v1beta2', 'KafkaTopic')).toBe(false);
    const namespace = 'cqrs-strimzi-v1';
    await createNamespace(namespace);
    docsExamplesAccepted(namespace);
    const result = ok(
      helm([
        'install',
        RELEASE,
        CHART,
        '--namespace',
        namespace,
        '--no-hooks',
        '-f',
        REQUIRED,
        '-f',
        EVERYTHING,
        '--set',
        'outbox.mode=debezium',
      ]),
      'helm install',
    );
    expect(serverWarnings(result)).toEqual([]);
    const topics = await api.list('kafka.strimzi.io/v1', 'KafkaTopic', namespace);
    expect(topics.map((t) => t.spec.topicName).sort()).toEqual(
      eventTopics()
        .flatMap((t) => [t, `${t}.dlq`])
        .sort(),
    );
    expect(await api.list('kafka.strimzi.io/v1', 'KafkaConnector', namespace)).toHaveLength(1);
    ok(helm(['uninstall', RELEASE, '--namespace', namespace]), 'helm uninstall');
  });
});
