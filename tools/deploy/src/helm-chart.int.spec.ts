import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  APPS,
  AppName,
  appConfig,
  isOwnerCredential,
  isStandardVariable,
  loopbackSettings,
  redact,
} from './lib/app-config';
import * as chart from './lib/helm';
import {
  CHART,
  Container,
  Manifest,
  NAMESPACE,
  RELEASE,
  RenderOptions,
  componentOf,
  containersOf,
  ensureHelm,
  isHook,
  mountedFiles,
  named,
  ofKind,
  resolveEnv,
  secretPlaceholder,
  withStandInFiles,
} from './lib/helm';
import { must } from './lib/must';
import { eventTopics, readRepoFile, repoRoot } from './lib/repo';

// `helm lint --strict` and `helm template` on the chart, with its defaults and with each option
// set (helm/cqrs/ci/*-values.yaml, the chart-testing convention), and assertions on what it
// renders, checked against the apps' real configuration. Helm comes from
// tools/scripts/ensure-helm.sh: built with `go install` on a machine's first run (minutes), cached after.

const values = parse(readRepoFile(`${CHART}/values.yaml`)) as ChartValues;
const optionFiles = readdirSync(join(repoRoot(), CHART, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort()
  .map((f) => `${CHART}/ci/${f}`);

/** What every install must set (the token issuer): the chart's defaults plus this is the smallest install. */
const REQUIRED_VALUES = 'tools/deploy/src/fixtures/required-values.yaml';
const requiredValues = parse(readRepoFile(REQUIRED_VALUES)) as { auth: { oidc: { issuerUrl: string } } };
const installable = (options: RenderOptions = {}): RenderOptions => ({
  ...options,
  files: [REQUIRED_VALUES, ...(options.files ?? [])],
});
// Outside the scenarios, every render starts from the required values; each ci/*-values.yaml
// renders on its own (chart-testing installs them one by one).
const render = (options?: RenderOptions) => chart.render(installable(options));
const template = (options?: RenderOptions) => chart.template(installable(options));
const renderNotes = (options?: RenderOptions) => chart.renderNotes(installable(options));

const scenarios: [string, RenderOptions][] = [
  ['default values (and the issuer)', { files: [REQUIRED_VALUES] }],
  ...optionFiles.map((f): [string, RenderOptions] => [f.replace(/^.*\//, ''), { files: [f] }]),
];

interface Credentials {
  existingSecret: string;
  usernameKey?: string;
  passwordKey?: string;
  uriKey?: string;
  readUriKey?: string;
  eventStoreUriKey?: string;
}
interface AuthValues {
  oidc: { issuerUrl: string; audience: string; jwksUrl: string };
  rolesClaim: string;
  adminRole: string;
  rateLimit: { requests: number; windowMs: number };
  corsOrigins: string[];
}
interface FileSource {
  secret?: string;
  configMap?: string;
  key: string;
}
interface ClientCredentials {
  username?: string;
  existingSecret?: string;
  passwordKey?: string;
  password?: string;
  certificate?: { secret?: string; certKey: string; keyKey: string };
}
type Peers = Record<string, unknown>[];
interface ChartValues {
  auth: AuthValues;
  networkPolicy: { enabled: boolean; apiClients: unknown[]; metricsScrapers: unknown[]; egress: Record<string, Peers> };
  postgres: {
    host: string;
    port: number;
    sslMode: string;
    ca: FileSource;
    databases: { write: string; read: string };
    credentials: Record<string, Credentials>;
  };
  kafka: {
    brokers: string[];
    topicPartitions: number;
    eventTopicRetentionMs: number;
    topics: { names: string[]; dlqRetentionMs: number };
    security: { protocol: string; mechanism: string; ca: FileSource; oauthbearer: { tokenUrl: string; scope: string } };
    credentials: Record<string, ClientCredentials>;
  };
  schemaRegistry: {
    url: string;
    ca: FileSource;
    auth: 'none' | 'basic' | 'bearer';
    credentials: Record<string, ClientCredentials>;
  };
  outbox: {
    publication: string;
    relay: { slotName: string };
    debezium: { slotName: string; topicPrefix: string; topicReplacement: string; sslRootCert: string };
  };
  preStop: { sleepSeconds: number; action: 'exec' | 'sleepAction' };
  terminationGracePeriodSeconds: number;
  [key: string]: unknown;
}

/** A chart value's Secret or ConfigMap, as the file source the tests compare mounts with. */
const sourceOf = (source: FileSource): { kind: 'Secret' | 'ConfigMap'; name: string; key: string } | undefined =>
  source.secret
    ? { kind: 'Secret', name: source.secret, key: source.key }
    : source.configMap
      ? { kind: 'ConfigMap', name: source.configMap, key: source.key }
      : undefined;

/** Where the chart mounts postgres.ca, and the query string every Postgres URL then carries. */
const POSTGRES_CA = '/etc/cqrs/tls/postgres-ca.crt';
const tlsQuery = (v: ChartValues): string => {
  const params = [
    ...(v.postgres.sslMode ? [`sslmode=${v.postgres.sslMode}`] : []),
    ...(sourceOf(v.postgres.ca) && v.postgres.sslMode !== 'disable' ? [`sslrootcert=${POSTGRES_CA}`] : []),
  ];
  return params.length ? `?${params.join('&')}` : '';
};

/** Stand-in files for the paths an environment names (see withStandInFiles), removed after the tests. */
const standIns = mkdtempSync(join(tmpdir(), 'cqrs-chart-files-'));
afterAll(() => rmSync(standIns, { recursive: true, force: true }));

const fullName = (component: string) => `${RELEASE}-cqrs-${component}`;
const appsOf = (manifests: Manifest[]): AppName[] =>
  ofKind(manifests, 'Deployment').map((d) => componentOf(d) as AppName);
/** The apps with an API: the API on port `http`, health, metrics and docs on port `management`. */
const API_APPS: readonly AppName[] = ['command-service', 'query-service'];
/** The apps that take bearer tokens: the APIs, and the projector for its admin API (on its one port). */
const ISSUER_APPS: readonly AppName[] = [...API_APPS, 'projector'];
const portNamed = (container: Container, name: string): number | undefined =>
  (container['ports'] as { name: string; containerPort: number }[]).find((p) => p.name === name)?.containerPort;

/** The merged values of a scenario, as far as the tests need them (defaults + its values file). */
const valuesOf = (options: RenderOptions): ChartValues => {
  const merge = (base: unknown, over: unknown): unknown =>
    over && typeof over === 'object' && !Array.isArray(over) && base && typeof base === 'object' && !Array.isArray(base)
      ? Object.fromEntries(
          [...new Set([...Object.keys(base), ...Object.keys(over)])].map((k) => [
            k,
            merge((base as never)[k], (over as never)[k]),
          ]),
        )
      : (over ?? base);
  return (options.files ?? []).reduce((v, f) => merge(v, parse(readRepoFile(f))) as ChartValues, values);
};

// The first call builds Helm when the machine has none (tools/scripts/ensure-helm.sh): minutes.
const HELM_SETUP_MS = 20 * 60_000;
beforeAll(() => {
  ensureHelm();
}, HELM_SETUP_MS);

describe('helm lint --strict', () => {
  it.each(scenarios)('passes with %s', (_name, options) => {
    const result = chart.lint(options);
    expect(result.stderr + result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(result.status).toBe(0);
  });
});

describe.each(scenarios)('helm template with %s', (_name, options) => {
  let manifests: Manifest[] = [];
  let workloads: Manifest[] = [];
  const v = valuesOf(options);
  beforeAll(() => {
    manifests = chart.render(options);
    workloads = [...ofKind(manifests, 'Deployment'), ...ofKind(manifests, 'Job')];
  });

  it('gives every container resources and the restricted security context', () => {
    expect(workloads.length).toBeGreaterThanOrEqual(4);
    for (const workload of workloads) {
      const pod = workload.spec.template.spec;
      expect([workload.metadata.name, pod.securityContext]).toEqual([
        workload.metadata.name,
        expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }),
      ]);
      expect(pod.securityContext.runAsUser ?? 1).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of containersOf(workload)) {
        const where = `${workload.kind}/${workload.metadata.name}/${c.name}`;
        expect([where, c['securityContext']]).toEqual([
          where,
          expect.objectContaining({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: ['ALL'] },
          }),
        ]);
        expect([where, c['resources']]).toEqual([
          where,
          {
            requests: expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }),
            limits: expect.objectContaining({ memory: expect.anything() }),
          },
        ]);
        // A read-only root needs a writable /tmp for Node and npm.
        expect([where, c['volumeMounts']]).toEqual([
          where,
          expect.arrayContaining([expect.objectContaining({ mountPath: '/tmp' })]),
        ]);
      }
    }
  });

  it("gives every app container startup, liveness and readiness probes on its management port's health endpoints", () => {
    for (const deployment of ofKind(manifests, 'Deployment')) {
      const [c] = containersOf(deployment) as [Container];
      const api = API_APPS.includes(componentOf(deployment) as AppName);
      // An API app: the API on `http`, health on `management`; the others: one port, `management`.
      expect([c.name, c['ports'].map((p: { name: string }) => p.name)]).toEqual([
        c.name,
        api ? ['http', 'management'] : ['management'],
      ]);
      const probes = [
        ['startupProbe', '/health/live'],
        ['livenessProbe', '/health/live'],
        ['readinessProbe', '/health/ready'],
      ] as const;
      for (const [probe, path] of probes) {
        expect([c.name, probe, c[probe]?.httpGet]).toEqual([c.name, probe, { path, port: 'management' }]);
      }
    }
  });

  it.each(APPS)(
    "%s: its environment is what its config.ts reads, valid, and points at the cluster's services",
    async (app) => {
      const deployment = ofKind(manifests, 'Deployment').find((d) => componentOf(d) === app);
      if (!deployment) {
        // Only the relay may be absent, and only when Debezium does its job.
        expect([app, manifests.some((m) => m.kind === 'KafkaConnector')]).toEqual(['outbox-relay', true]);
        return;
      }
      const config = await appConfig(app);
      const [container] = containersOf(deployment) as [Container];
      const env = resolveEnv(container, manifests);
      const names = Object.keys(env.values);
      // Every variable is read by the app, is a standard one, or only feeds another's $(VAR).
      expect(
        names.filter((n) => !config.variables.includes(n) && !isStandardVariable(n) && !env.referenced.has(n)),
      ).toEqual([]);
      expect(names.filter(isOwnerCredential)).toEqual([]);
      // Every file it is told about (CA bundles, passwords, keys) is mounted; the config reads them.
      const files = withStandInFiles(env.values, mountedFiles(deployment, container), standIns);
      expect([app, files.missing]).toEqual([app, []]);
      const result = config.load(files.values);
      if (!result.ok)
        throw new Error(`${app}: the chart's environment fails its config: ${redact(JSON.stringify(result.issues))}`);
      expect(loopbackSettings(result.config)).toEqual([]);

      // The ports it listens on are the container ports the probes and the Service use: an API
      // app's API on `http` and its management endpoints on `management`, the others' one port as `management`.
      const service = named(manifests, 'Service', fullName(app));
      const management = must(portNamed(container, 'management'), `${app}'s management port`);
      if (API_APPS.includes(app)) {
        const port = must(portNamed(container, 'http'), `${app}'s http port`);
        expect([result.config['PORT'], result.config['MANAGEMENT_PORT']]).toEqual([port, management]);
        expect(service.spec.ports).toEqual([
          expect.objectContaining({ name: 'http', port, targetPort: 'http' }),
          expect.objectContaining({ name: 'management', port: management, targetPort: 'management' }),
        ]);
      } else {
        expect([result.config['PORT'], result.config['MANAGEMENT_PORT']]).toEqual([management, undefined]);
        expect(service.spec.ports).toEqual([
          expect.objectContaining({ name: 'management', port: management, targetPort: 'management' }),
        ]);
      }
      expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
      // Production, whatever the image: the development token issuer is refused.
      expect(env.values['NODE_ENV']).toBe('production');
      if (ISSUER_APPS.includes(app)) {
        const { auth } = v;
        expect(result.config).toMatchObject({
          NODE_ENV: 'production',
          OIDC_ISSUER_URL: auth.oidc.issuerUrl,
          OIDC_AUDIENCE: auth.oidc.audience,
          AUTH_ROLES_CLAIM: auth.rolesClaim,
          AUTH_ADMIN_ROLE: auth.adminRole,
          RATE_LIMIT_REQUESTS: auth.rateLimit.requests,
          RATE_LIMIT_WINDOW_MS: auth.rateLimit.windowMs,
        });
        expect(result.config['OIDC_JWKS_URL']).toBe(auth.oidc.jwksUrl || undefined);
        // Browsers call the APIs; the projector's admin API is called by the console's server side.
        expect(env.values['CORS_ORIGINS']).toBe(
          API_APPS.includes(app) && auth.corsOrigins.length ? auth.corsOrigins.join(',') : undefined,
        );
      } else {
        expect([app, Object.keys(env.values).filter((n) => /^(OIDC_|AUTH_|RATE_LIMIT_)/.test(n))]).toEqual([app, []]);
      }

      // Its database: the role and database of its local default, credentials from that role's Secret.
      const local = new URL(String(config.defaults()['DATABASE_URL']));
      const role = local.username.replace(/^cqrs_/, '');
      const credentials = v.postgres.credentials[role];
      const database =
        local.pathname.slice(1) === 'cqrs_write' ? v.postgres.databases.write : v.postgres.databases.read;
      const url = String(env.values['DATABASE_URL']);
      const tls = tlsQuery(v);
      if (credentials.uriKey) {
        // The Secret's URL, with the TLS parameters appended (or as it is, when there are none).
        const from = tls ? 'DATABASE_URL_FROM_SECRET' : 'DATABASE_URL';
        expect(env.secrets[from]).toEqual({ name: credentials.existingSecret, key: credentials.uriKey });
        expect(url).toBe(`${secretPlaceholder(credentials.existingSecret, credentials.uriKey, 'DATABASE_URL')}${tls}`);
      } else {
        const parsed = new URL(url);
        expect(parsed.username).toBe(secretPlaceholder(credentials.existingSecret, credentials.usernameKey ?? ''));
        expect(parsed.password).toBe(secretPlaceholder(credentials.existingSecret, credentials.passwordKey ?? ''));
        expect(`${parsed.hostname}:${parsed.port}${parsed.pathname}`).toBe(
          `${v.postgres.host}:${v.postgres.port}/${database}`,
        );
        expect(parsed.search).toBe(tls);
      }
      if (config.variables.includes('EVENT_STORE_DATABASE_URL')) {
        // The event store: the same role (and Secret) as DATABASE_URL, on the write database, as locally.
        const localStore = new URL(String(config.defaults()['EVENT_STORE_DATABASE_URL']));
        expect([localStore.username, localStore.pathname]).toEqual([local.username, '/cqrs_write']);
        const store = String(env.values['EVENT_STORE_DATABASE_URL']);
        if (credentials.uriKey) {
          const from = tls ? 'EVENT_STORE_DATABASE_URL_FROM_SECRET' : 'EVENT_STORE_DATABASE_URL';
          expect(env.secrets[from]).toEqual({ name: credentials.existingSecret, key: credentials.eventStoreUriKey });
          expect(store).toBe(
            `${secretPlaceholder(credentials.existingSecret, credentials.eventStoreUriKey ?? '', 'EVENT_STORE_DATABASE_URL')}${tls}`,
          );
        } else {
          const parsed = new URL(store);
          expect([parsed.username, parsed.password]).toEqual([
            secretPlaceholder(credentials.existingSecret, credentials.usernameKey ?? ''),
            secretPlaceholder(credentials.existingSecret, credentials.passwordKey ?? ''),
          ]);
          expect(`${parsed.hostname}:${parsed.port}${parsed.pathname}`).toBe(
            `${v.postgres.host}:${v.postgres.port}/${v.postgres.databases.write}`,
          );
          expect(parsed.search).toBe(tls);
        }
      }
      // Topics it creates keep the history the chart's value says (-1: every event).
      if (config.variables.includes('EVENT_TOPIC_RETENTION_MS'))
        expect(result.config['EVENT_TOPIC_RETENTION_MS']).toBe(v.kafka.eventTopicRetentionMs);
      if (config.variables.includes('KAFKA_BROKERS')) expect(result.config['KAFKA_BROKERS']).toEqual(v.kafka.brokers);
      if (config.variables.includes('SCHEMA_REGISTRY_URL'))
        expect(result.config['SCHEMA_REGISTRY_URL']).toBe(v.schemaRegistry.url);
      if (app === 'outbox-relay') {
        // Topics it creates get the partition count the projector's autoscaling is held to; with
        // KafkaTopic resources it creates none. Its slot is never Debezium's.
        expect(result.config['OUTBOX_TOPIC_PARTITIONS']).toBe(v.kafka.topicPartitions);
        expect(result.config['OUTBOX_TOPIC_AUTOCREATE']).toBe(!(v.kafka.topics as { create?: boolean }).create);
        expect(result.config['OUTBOX_PUBLICATION']).toBe(v.outbox.publication);
        expect(result.config['OUTBOX_SLOT_NAME']).toBe(v.outbox.relay.slotName);
        expect(v.outbox.relay.slotName).not.toBe(v.outbox.debezium.slotName);
      }
    },
  );

  it('lets each app reach only what its config addresses (NetworkPolicy egress), when policies are on', async () => {
    const policies = ofKind(manifests, 'NetworkPolicy').filter((p) => !isHook(p));
    if ((valuesOf(options)['networkPolicy'] as { enabled: boolean }).enabled === false) {
      expect(policies).toEqual([]);
      return;
    }
    for (const app of appsOf(manifests)) {
      const config = await appConfig(app);
      const selecting = policies.filter((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/component'] === app);
      expect([app, selecting.length]).toEqual([app, 1]);
      const rules = selecting[0].spec.egress as { ports: { port: number }[]; to?: unknown[] }[];
      const ports = new Set<number>(rules.flatMap((rule) => rule.ports.map((p) => p.port)));
      // Every rule names its destinations: a rule without `to` reaches any address on its ports.
      expect([app, rules.filter((r) => !r.to?.length)]).toEqual([app, []]);
      const expected = [53, v.postgres.port];
      if (config.variables.includes('KAFKA_BROKERS'))
        expected.push(...v.kafka.brokers.map((b) => Number(b.split(':').pop())));
      const portOf = (url: string) => Number(new URL(url).port || (url.startsWith('https:') ? 443 : 80));
      if (config.variables.includes('SCHEMA_REGISTRY_URL')) expected.push(portOf(v.schemaRegistry.url));
      // The issuer's keys (and its discovery document, unless jwksUrl skips it).
      if (config.variables.includes('OIDC_ISSUER_URL'))
        expected.push(portOf(v.auth.oidc.jwksUrl || v.auth.oidc.issuerUrl));
      expect([app, [...ports].sort()]).toEqual([app, expect.arrayContaining([...new Set(expected)].sort())]);
      if (!config.variables.includes('KAFKA_BROKERS')) expect([app, ports.has(9092)]).toEqual([app, false]);
    }
  });

  it('admits API clients to the API port only, and the metrics scrapers to the management port only', () => {
    const policies = ofKind(manifests, 'NetworkPolicy').filter((p) => !isHook(p));
    const np = v.networkPolicy;
    for (const policy of policies) {
      const app = policy.spec.podSelector.matchLabels['app.kubernetes.io/component'] as AppName;
      const rules = (policy.spec.ingress ?? []) as { ports: { port: string }[]; from?: unknown[] }[];
      // Every rule names its sources: a rule without `from` (or with an empty one) admits everyone.
      expect([app, rules.filter((r) => !r.from?.length)]).toEqual([app, []]);
      const sources = (port: string) =>
        rules.filter((r) => r.ports.some((p) => p.port === port)).flatMap((r) => r.from);
      expect([app, sources('management')]).toEqual([app, np.metricsScrapers]);
      expect([app, sources('http')]).toEqual([app, API_APPS.includes(app) ? np.apiClients : []]);
      expect([
        app,
        rules.flatMap((r) => r.ports.map((p) => p.port)).filter((p) => p !== 'http' && p !== 'management'),
      ]).toEqual([app, []]);
    }
  });

  it('runs migrations then schema registration as pre-install/pre-upgrade hooks, with only what exists by then', () => {
    const hooks = manifests.filter(isHook);
    const weight = (m: Manifest) => Number(m.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
    for (const hook of hooks)
      expect([hook.metadata.name, hook.metadata.annotations?.['helm.sh/hook']]).toEqual([
        hook.metadata.name,
        'pre-install,pre-upgrade',
      ]);
    const jobs = ofKind(hooks, 'Job').sort((a, b) => weight(a) - weight(b));
    expect(jobs.map((j) => containersOf(j)[0]['args'])).toEqual([['database'], ['schemas']]);
    expect(weight(jobs[0])).toBeLessThan(weight(jobs[1]));
    // Every Job is a hook: none can race the Deployments.
    expect(ofKind(manifests, 'Job').every(isHook)).toBe(true);
    expect(ofKind(manifests, 'Deployment').some(isHook)).toBe(false);

    // Secrets and ConfigMaps an operator made before installing: every existingSecret and CA of the values.
    const fromValues = new Set(
      [
        ...Object.values(v.postgres.credentials).map((c) => c.existingSecret),
        ...Object.values(v.schemaRegistry.credentials).map((c) => c.existingSecret),
        ...[v.postgres.ca, v.schemaRegistry.ca].flatMap((c) => [c.secret, c.configMap]),
      ].filter(Boolean),
    );
    for (const job of jobs) {
      const pod = job.spec.template.spec;
      expect(pod.restartPolicy).toBe('Never');
      // Pre-install hooks run before the release's own resources exist: a Job may use a hook of
      // a lower weight, or something that existed before the install (the database Secrets).
      const account = hooks.find((h) => h.kind === 'ServiceAccount' && h.metadata.name === pod.serviceAccountName);
      expect([job.metadata.name, account && weight(account) < weight(job)]).toEqual([job.metadata.name, true]);
      const [container] = containersOf(job) as [Container];
      expect(container.envFrom ?? []).toEqual([]);
      const secrets = Object.values(resolveEnv(container, manifests).secrets).map((s) => s.name);
      expect(
        secrets.filter(
          (s) =>
            !fromValues.has(s) &&
            s !== (v as { otel?: { headersSecret?: { name?: string } } }).otel?.headersSecret?.name,
        ),
      ).toEqual([]);
      // Mounted files: an operator's, or a hook Secret the chart makes at a lower weight.
      for (const file of mountedFiles(job, container).values()) {
        const hookSecret = hooks.find((h) => h.kind === file.kind && h.metadata.name === file.name);
        expect([
          job.metadata.name,
          file.name,
          fromValues.has(file.name) || (hookSecret !== undefined && weight(hookSecret) < weight(job)),
        ]).toEqual([job.metadata.name, file.name, true]);
      }
    }
    const policy = hooks.find((h) => h.kind === 'NetworkPolicy');
    if (policy) expect(weight(policy)).toBeLessThan(weight(jobs[0]));
  });

  it('migrates both databases as the owner role, and registers schemas in the registry the apps use', () => {
    const [database, schemas] = ofKind(manifests, 'Job').sort((a, b) =>
      containersOf(a)[0]['args'][0].localeCompare(containersOf(b)[0]['args'][0]),
    ) as [Manifest, Manifest];
    const env = resolveEnv(containersOf(database)[0], manifests);
    const owner = v.postgres.credentials['owner'];
    const tls = tlsQuery(v);
    const suffix = tls ? '_FROM_SECRET' : '';
    if (owner.uriKey) {
      expect(env.secrets[`MIGRATIONS_WRITE_DATABASE_URL${suffix}`]).toEqual({
        name: owner.existingSecret,
        key: owner.uriKey,
      });
      expect(env.secrets[`MIGRATIONS_READ_DATABASE_URL${suffix}`]).toEqual({
        name: owner.existingSecret,
        key: owner.readUriKey,
      });
      for (const name of ['MIGRATIONS_WRITE_DATABASE_URL', 'MIGRATIONS_READ_DATABASE_URL'])
        expect(env.values[name].endsWith(tls)).toBe(true);
    } else {
      for (const [name, db] of [
        ['MIGRATIONS_WRITE_DATABASE_URL', v.postgres.databases.write],
        ['MIGRATIONS_READ_DATABASE_URL', v.postgres.databases.read],
      ] as const) {
        const url = new URL(env.values[name]);
        expect([name, url.username, url.pathname, url.search]).toEqual([
          name,
          secretPlaceholder(owner.existingSecret, owner.usernameKey ?? ''),
          `/${db}`,
          tls,
        ]);
      }
    }
    // The CA the URLs name is mounted in the Job.
    if (tls.includes('sslrootcert'))
      expect(mountedFiles(database, containersOf(database)[0]).get(POSTGRES_CA)).toMatchObject(
        must(sourceOf(v.postgres.ca), 'postgres.ca'),
      );
    expect(resolveEnv(containersOf(schemas)[0], manifests).values['SCHEMA_REGISTRY_URL']).toBe(v.schemaRegistry.url);
    // The args are the steps tools/deploy/image/migrations.sh knows.
    const script = readRepoFile('tools/deploy/image/migrations.sh');
    for (const step of ['database', 'schemas']) expect(script).toMatch(new RegExp(`^\\s*${step}\\) `, 'm'));
  });

  it('scales command-service, query-service and the projector (never past the partition count), not the relay', () => {
    const hpas = ofKind(manifests, 'HorizontalPodAutoscaler');
    for (const hpa of hpas) {
      const target = named(manifests, 'Deployment', hpa.spec.scaleTargetRef.name);
      expect(target.spec.replicas).toBeUndefined();
      expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
    }
    const scaled = hpas.map((h) => componentOf(h));
    expect(scaled).not.toContain('outbox-relay');
    const projector = hpas.find((h) => componentOf(h) === 'projector');
    if (projector) expect(projector.spec.maxReplicas).toBeLessThanOrEqual(v.kafka.topicPartitions);
    else
      expect(named(manifests, 'Deployment', fullName('projector')).spec.replicas).toBeLessThanOrEqual(
        v.kafka.topicPartitions,
      );
    const fixed = ofKind(manifests, 'Deployment')
      .filter((d) => d.spec.replicas !== undefined)
      .map(componentOf);
    expect(new Set([...scaled, ...fixed])).toEqual(new Set(appsOf(manifests)));
  });

  it('keeps a disruption budget for every app', () => {
    const pdbs = ofKind(manifests, 'PodDisruptionBudget');
    for (const deployment of ofKind(manifests, 'Deployment')) {
      const pdb = pdbs.find(
        (p) => JSON.stringify(p.spec.selector.matchLabels) === JSON.stringify(deployment.spec.selector.matchLabels),
      );
      expect([deployment.metadata.name, pdb?.spec.maxUnavailable]).toEqual([deployment.metadata.name, 1]);
    }
  });

  it('hands secrets over as files from Secrets: never in a ConfigMap, an env literal or a ConfigMap-backed file', () => {
    const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|_KEY)$/;
    for (const config of ofKind(manifests, 'ConfigMap')) {
      expect([config.metadata.name, Object.keys(config.data ?? {}).filter((k) => SECRET_NAME.test(k))]).toEqual([
        config.metadata.name,
        [],
      ]);
    }
    for (const workload of workloads) {
      for (const c of containersOf(workload)) {
        const literals = (c.env ?? [])
          .filter((e) => SECRET_NAME.test(e.name) && e.value !== undefined)
          .map((e) => e.name);
        expect([workload.metadata.name, literals]).toEqual([workload.metadata.name, []]);
        const env = resolveEnv(c, manifests).values;
        const files = mountedFiles(workload, c);
        for (const [name, path] of Object.entries(env).filter(([n]) => /_FILE$/.test(n))) {
          const file = must(files.get(path), `${workload.metadata.name}: ${name}=${path} is mounted`);
          expect([name, file.readOnly]).toEqual([name, true]);
          // Passwords, tokens and keys come from Secrets; a ConfigMap may hold only a CA bundle.
          if (!/_CA_FILE$/.test(name) && name !== 'KAFKA_SSL_CERT_FILE')
            expect([name, file.kind]).toEqual([name, 'Secret']);
        }
      }
    }
  });

  it("gives each app its own Kafka and registry identity, only for what it uses, trusting the values' CAs", async () => {
    for (const deployment of ofKind(manifests, 'Deployment')) {
      const app = componentOf(deployment) as AppName;
      const [c] = containersOf(deployment) as [Container];
      const env = resolveEnv(c, manifests).values;
      const files = mountedFiles(deployment, c);
      const config = await appConfig(app);
      const role = {
        'command-service': 'command',
        'query-service': 'query',
        projector: 'projector',
        'outbox-relay': 'relay',
      }[app];
      const kafka = Object.keys(env).filter((n) => n.startsWith('KAFKA_'));
      if (!config.variables.includes('KAFKA_BROKERS')) {
        expect([app, kafka]).toEqual([app, []]);
      } else {
        const { security, credentials } = v.kafka;
        const cred = credentials[role];
        expect(env['KAFKA_SECURITY_PROTOCOL']).toBe(security.protocol);
        const tls = ['SSL', 'SASL_SSL'].includes(security.protocol);
        const ca = sourceOf(security.ca);
        if (tls && ca) expect(files.get(env['KAFKA_SSL_CA_FILE'])).toMatchObject(ca);
        else expect(env['KAFKA_SSL_CA_FILE']).toBeUndefined();
        if (security.protocol.startsWith('SASL_')) {
          expect(env['KAFKA_SASL_MECHANISM']).toBe(security.mechanism);
          const oauth = security.mechanism === 'OAUTHBEARER';
          expect(env[oauth ? 'KAFKA_SASL_OAUTHBEARER_CLIENT_ID' : 'KAFKA_SASL_USERNAME']).toBe(cred.username);
          const secretFile = files.get(
            env[oauth ? 'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE' : 'KAFKA_SASL_PASSWORD_FILE'],
          );
          // existingSecret: that Secret's key; an inline password: the app's chart-made Secret.
          expect(secretFile).toMatchObject(
            cred.existingSecret
              ? { kind: 'Secret', name: cred.existingSecret, key: cred.passwordKey }
              : { kind: 'Secret', name: fullName(`${app}-credentials`) },
          );
          if (oauth) expect(env['KAFKA_SASL_OAUTHBEARER_TOKEN_URL']).toBe(security.oauthbearer.tokenUrl);
        } else {
          expect(kafka.filter((n) => n.startsWith('KAFKA_SASL_'))).toEqual([]);
        }
        if (cred.certificate?.secret) {
          expect(files.get(env['KAFKA_SSL_CERT_FILE'])).toMatchObject({
            kind: 'Secret',
            name: cred.certificate.secret,
            key: cred.certificate.certKey,
          });
          expect(files.get(env['KAFKA_SSL_KEY_FILE'])).toMatchObject({
            kind: 'Secret',
            name: cred.certificate.secret,
            key: cred.certificate.keyKey,
          });
        }
      }
      const registry = Object.keys(env).filter((n) => n.startsWith('SCHEMA_REGISTRY_') && n !== 'SCHEMA_REGISTRY_URL');
      if (!config.variables.includes('SCHEMA_REGISTRY_URL')) {
        expect([app, registry]).toEqual([app, []]);
        continue;
      }
      const { auth, ca, credentials } = v.schemaRegistry;
      const cred = credentials[role];
      if (sourceOf(ca))
        expect(files.get(env['SCHEMA_REGISTRY_CA_FILE'])).toMatchObject(must(sourceOf(ca), 'schemaRegistry.ca'));
      const secretVariable = {
        none: undefined,
        basic: 'SCHEMA_REGISTRY_PASSWORD_FILE',
        bearer: 'SCHEMA_REGISTRY_TOKEN_FILE',
      }[auth];
      expect([app, registry.filter((n) => /(PASSWORD|TOKEN)(_FILE)?$/.test(n))]).toEqual([
        app,
        secretVariable ? [secretVariable] : [],
      ]);
      if (secretVariable) {
        expect(files.get(env[secretVariable])).toMatchObject(
          cred.existingSecret
            ? { name: cred.existingSecret, key: cred.passwordKey }
            : { name: fullName(`${app}-credentials`) },
        );
      }
      expect(env['SCHEMA_REGISTRY_USERNAME']).toBe(auth === 'basic' ? cred.username : undefined);
    }
  });

  it('mounts the Postgres CA wherever a URL names it, and every URL carries postgres.sslMode', () => {
    const tls = tlsQuery(v);
    for (const workload of workloads) {
      const [c] = containersOf(workload) as [Container];
      const env = resolveEnv(c, manifests).values;
      const urls = Object.entries(env).filter(([n]) => /DATABASE_URL$/.test(n));
      const migratesDatabase = workload.kind === 'Job' && c['args'][0] === 'database';
      expect([workload.metadata.name, urls.length > 0]).toEqual([
        workload.metadata.name,
        workload.kind === 'Deployment' || migratesDatabase,
      ]);
      for (const [name, url] of urls)
        expect([workload.metadata.name, name, url.endsWith(tls)]).toEqual([workload.metadata.name, name, true]);
      if (urls.length && tls.includes('sslrootcert'))
        expect(mountedFiles(workload, c).get(POSTGRES_CA)).toMatchObject(must(sourceOf(v.postgres.ca), 'postgres.ca'));
    }
  });

  it("lets endpoints drain before SIGTERM (preStop), within a grace period that covers the apps' shutdown", () => {
    for (const deployment of ofKind(manifests, 'Deployment')) {
      const pod = deployment.spec.template.spec;
      const [c] = containersOf(deployment) as [Container];
      const preStop = c['lifecycle']?.preStop;
      expect([deployment.metadata.name, preStop]).toEqual([
        deployment.metadata.name,
        v.preStop.action === 'sleepAction'
          ? { sleep: { seconds: v.preStop.sleepSeconds } }
          : { exec: { command: ['/bin/sleep', String(v.preStop.sleepSeconds)] } },
      ]);
      expect(pod.terminationGracePeriodSeconds).toBe(v.terminationGracePeriodSeconds);
      // preStop, the HTTP drain (1 s), the relay's outbox drain (10 s): well within the grace period.
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
        v.preStop.sleepSeconds + 1 + (componentOf(deployment) === 'outbox-relay' ? 10 : 0) + 5,
      );
    }
  });

  it('sends OpenTelemetry data only where configured', () => {
    const otel = (v as unknown as { otel: { enabled: boolean; endpoint: string; protocol: string } }).otel;
    for (const workload of workloads) {
      const env = resolveEnv(containersOf(workload)[0], manifests).values;
      expect(env['OTEL_SDK_DISABLED']).toBe(String(!otel.enabled));
      expect(env['OTEL_SERVICE_NAME']).toBe(componentOf(workload));
      expect(env['OTEL_EXPORTER_OTLP_ENDPOINT']).toBe(otel.enabled ? otel.endpoint : undefined);
      if (otel.enabled) {
        expect(env['OTEL_EXPORTER_OTLP_PROTOCOL']).toBe(otel.protocol);
        expect(env['OTEL_RESOURCE_ATTRIBUTES']).toContain('k8s.pod.name=field.metadata.name');
      }
    }
  });
});

describe('the outbox-relay (outbox.mode=relay, the default)', () => {
  let manifests: Manifest[] = [];
  let relay: Manifest;
  beforeAll(() => {
    manifests = render();
    relay = named(manifests, 'Deployment', fullName('outbox-relay'));
  });

  it('runs two replicas, one holding the slot and one on standby, with no autoscaler', () => {
    expect(relay.spec.replicas).toBe(2);
    expect(ofKind(manifests, 'HorizontalPodAutoscaler').map(componentOf)).not.toContain('outbox-relay');
  });

  it('keeps one replica through a drain and never runs a third during a rollout', () => {
    const pdb = named(manifests, 'PodDisruptionBudget', fullName('outbox-relay'));
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: relay.spec.selector });
    expect(relay.spec.strategy.rollingUpdate).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });

  it("spreads the two replicas over nodes, so the standby survives the active one's node", () => {
    const terms = relay.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(terms).toEqual([
      expect.objectContaining({
        podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: relay.spec.selector },
      }),
    ]);
  });

  it('refuses an autoscaling block for the relay (the schema says why)', () => {
    const result = template({
      set: {
        'outboxRelay.autoscaling': {
          enabled: true,
          minReplicas: 2,
          maxReplicas: 4,
          targetCPUUtilizationPercentage: 70,
        },
      },
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/outboxRelay/);
  });
});

describe('the projector and the partition count', () => {
  it('fails to render an HPA that could outgrow the partitions, saying why', () => {
    const result = template({ set: { 'kafka.topicPartitions': 4 } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('projector.autoscaling.maxReplicas (6) exceeds kafka.topicPartitions (4)');
  });

  it('fails to render fixed replicas beyond the partitions', () => {
    const result = template({ set: { 'projector.autoscaling.enabled': false, 'projector.replicas': 8 } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('projector.replicas (8) exceeds kafka.topicPartitions (6)');
  });

  it("uses the same count for the KafkaTopics, which cover the projector's topics and their dead-letter topics", async () => {
    const manifests = render({ set: { 'kafka.topics.create': true, 'kafka.topicPartitions': 9 } });
    const topics = ofKind(manifests, 'KafkaTopic');
    const projector = named(manifests, 'Deployment', fullName('projector'));
    const [container] = containersOf(projector) as [Container];
    const loaded = (await appConfig('projector')).load(
      withStandInFiles(resolveEnv(container, manifests).values, mountedFiles(projector, container), standIns).values,
    );
    if (!loaded.ok) throw new Error(`projector: ${JSON.stringify(loaded.issues)}`);
    const consumed = (loaded.ok ? loaded.config['PROJECTOR_TOPICS'] : []) as string[];
    expect(consumed.length).toBeGreaterThan(0);
    // every context's event topics (the projector consumes them all) and their dead-letter topics
    expect(eventTopics()).toEqual(expect.arrayContaining(consumed));
    expect(topics.map((t) => t.spec.topicName).sort()).toEqual(
      eventTopics()
        .flatMap((t) => [t, `${t}.dlq`])
        .sort(),
    );
    expect(topics.map((t) => t.spec.partitions)).toEqual(topics.map(() => 9));
    // Uninstalling must not delete the events.
    expect(topics.every((t) => t.metadata.annotations?.['helm.sh/resource-policy'] === 'keep')).toBe(true);
  });

  it('gives the event topics their history (retention.ms=-1, deleted by age, never compacted) and the dead-letter topics a bounded retention', () => {
    const configs = (manifests: Manifest[]) =>
      Object.fromEntries(
        ofKind(manifests, 'KafkaTopic').map((t) => [
          t.spec.topicName as string,
          t.spec.config as Record<string, string>,
        ]),
      );
    expect(values.kafka.eventTopicRetentionMs).toBe(-1);
    expect(values.kafka.topics.dlqRetentionMs).toBe(604_800_000);
    expect(configs(render({ set: { 'kafka.topics.create': true } }))).toEqual(
      Object.fromEntries(
        eventTopics().flatMap((topic) => [
          [
            topic,
            { 'min.insync.replicas': '2', 'cleanup.policy': 'delete', 'retention.ms': '-1', 'retention.bytes': '-1' },
          ],
          [`${topic}.dlq`, { 'min.insync.replicas': '2', 'cleanup.policy': 'delete', 'retention.ms': '604800000' }],
        ]),
      ),
    );
    // A bound, in the KafkaTopic and in what the relay and the projector create topics with.
    const bounded = render({ set: { 'kafka.topics.create': true, 'kafka.eventTopicRetentionMs': 2_592_000_000 } });
    expect(configs(bounded)['tasks.task.events']).toMatchObject({
      'retention.ms': '2592000000',
      'retention.bytes': '-1',
    });
    for (const app of ['projector', 'outbox-relay'])
      expect([app, named(bounded, 'ConfigMap', fullName(app)).data?.['EVENT_TOPIC_RETENTION_MS']]).toEqual([
        app,
        '2592000000',
      ]);
  });

  it('refuses a retention set for every topic alike, or one too short to be a policy', () => {
    const everyTopic = template({
      set: { 'kafka.topics.create': true, 'kafka.topics.config': { 'retention.ms': '86400000' } },
    });
    expect(everyTopic.status).not.toBe(0);
    expect(everyTopic.stderr).toContain(
      'kafka.topics.config.retention.ms: the chart sets it per kind of topic; set kafka.eventTopicRetentionMs',
    );
    const short = template({ set: { 'kafka.eventTopicRetentionMs': 60_000 } });
    expect(short.status).not.toBe(0);
    expect(short.stderr).toMatch(/kafka\/eventTopicRetentionMs/);
  });
});

describe('outbox.mode=debezium', () => {
  const options = { files: [`${CHART}/ci/debezium-values.yaml`] };
  const v = valuesOf(options);
  let manifests: Manifest[] = [];
  beforeAll(() => {
    manifests = render(options);
  });
  const connectFile = readRepoFile('connect/outbox-connector.json');

  it('runs no outbox-relay', () => {
    expect(manifests.filter((m) => componentOf(m) === 'outbox-relay')).toEqual([]);
  });

  it("ships connect/'s connector unchanged (helm/cqrs/files is a copy kept equal to it)", () => {
    const copy = readFileSync(join(repoRoot(), CHART, 'files/outbox-connector.json'), 'utf8');
    if (copy !== connectFile) {
      throw new Error(
        'helm/cqrs/files/outbox-connector.json differs from connect/outbox-connector.json: cp connect/outbox-connector.json helm/cqrs/files/',
      );
    }
  });

  it("renders a Strimzi KafkaConnector with connect/'s routing, placeholders filled from the values", () => {
    const connector = ofKind(manifests, 'KafkaConnector');
    expect(connector).toHaveLength(1);
    const { metadata, spec } = connector[0];
    const relay = v.postgres.credentials['relay'];
    const secret = (key: string) => `\${secrets:${NAMESPACE}/${relay.existingSecret}:${key}}`;
    const vars: Record<string, string> = {
      CONNECTOR_NAME: metadata.name,
      DATABASE_HOST: v.postgres.host,
      DATABASE_PORT: String(v.postgres.port),
      DATABASE_USER: secret(relay.usernameKey ?? ''),
      DATABASE_PASSWORD: secret(relay.passwordKey ?? ''),
      DATABASE_NAME: v.postgres.databases.write,
      // Postgres over TLS as the apps: sslmode, and the CA where the KafkaConnect pods mount it.
      DATABASE_SSLMODE: v.postgres.sslMode || 'disable',
      DATABASE_SSLROOTCERT:
        sourceOf(v.postgres.ca) && v.postgres.sslMode !== 'disable' ? v.outbox.debezium.sslRootCert : '',
      SLOT_NAME: v.outbox.debezium.slotName,
      PUBLICATION_NAME: v.outbox.publication,
      TOPIC_PREFIX: v.outbox.debezium.topicPrefix,
      TOPIC_REPLACEMENT: v.outbox.debezium.topicReplacement,
      TOPIC_PARTITIONS: String(v.kafka.topicPartitions),
      // Its `events` topic group: the names the replacement makes, kept as the relay keeps them.
      EVENT_TOPIC_PATTERN: '.+\\.events',
      EVENT_TOPIC_RETENTION_MS: String(v.kafka.eventTopicRetentionMs),
    };
    // As connect/register.mts fills them (JSON-escaped): upper-case ${NAME}s only, Debezium's ${routedByValue} stays.
    const expected = JSON.parse(
      connectFile.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_m, name: string) => {
        if (!(name in vars))
          throw new Error(
            `connect/outbox-connector.json has a new placeholder \${${name}}: teach the chart and this test`,
          );
        return JSON.stringify(vars[name]).slice(1, -1);
      }),
    ) as { config: Record<string, string> };
    const { 'connector.class': connectorClass, 'tasks.max': tasksMax, ...config } = expected.config;
    // An empty CA path is left out rather than given to Debezium as "".
    if (config['database.sslrootcert'] === '') delete config['database.sslrootcert'];
    expect(metadata.labels?.['strimzi.io/cluster']).toBe('my-connect');
    expect(spec.class).toBe(connectorClass);
    expect(spec.tasksMax).toBe(Number(tasksMax));
    // Postgres over TLS as the apps: sslmode, and the CA where the KafkaConnect pods mount it.
    const tls = {
      'database.sslmode': v.postgres.sslMode || 'disable',
      ...(sourceOf(v.postgres.ca) && v.postgres.sslMode !== 'disable'
        ? { 'database.sslrootcert': v.outbox.debezium.sslRootCert }
        : {}),
    };
    expect(spec.config).toEqual({ ...config, ...tls });
    expect(spec.config).toMatchObject({
      'database.sslmode': 'verify-full',
      'database.sslrootcert': '/mnt/cqrs-postgres-ca/ca.crt',
    });
    expect(spec.config['transforms.outbox.route.topic.replacement']).toBe('${routedByValue}.events');
  });

  it('never writes a database password into the resource, and lets Connect read just the relay Secret', () => {
    const connector = ofKind(manifests, 'KafkaConnector')[0];
    expect(connector.spec.config['database.password']).toMatch(/^\$\{secrets:[^}]+\}$/);
    const role = ofKind(manifests, 'Role')[0];
    expect(role['rules']).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: [v.postgres.credentials['relay'].existingSecret],
        verbs: ['get'],
      },
    ]);
    const binding = ofKind(manifests, 'RoleBinding')[0];
    expect(binding['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'my-connect-connect', namespace: NAMESPACE }]);
  });

  it('gives Debezium no CA path when Postgres TLS is off', () => {
    const off = render({ files: options.files, set: { 'postgres.sslMode': 'disable' } });
    const { config } = ofKind(off, 'KafkaConnector')[0].spec;
    expect(config['database.sslmode']).toBe('disable');
    expect(config).not.toHaveProperty('database.sslrootcert');
  });

  it("derives the event topic group's pattern from the topic replacement, and its retention from the chart's", () => {
    const other = render({
      files: options.files,
      set: {
        'outbox.debezium.topicReplacement': 'acme.${routedByValue}.events+v1',
        'kafka.eventTopicRetentionMs': 2_592_000_000,
      },
    });
    const { config } = ofKind(other, 'KafkaConnector')[0].spec;
    expect(config['topic.creation.events.include']).toBe('acme\\..+\\.events\\+v1');
    expect(config['topic.creation.events.retention.ms']).toBe('2592000000');
  });

  it('refuses URL-only relay credentials, which Debezium cannot use', () => {
    const result = template({
      files: options.files,
      set: { 'postgres.credentials.relay': { existingSecret: 'db-relay', uriKey: 'uri' } },
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      'outbox.mode=debezium needs postgres.credentials.relay.usernameKey and passwordKey',
    );
  });
});

describe('monitoring', () => {
  let manifests: Manifest[] = [];
  beforeAll(() => {
    manifests = render({ files: [`${CHART}/ci/monitoring-values.yaml`] });
  });

  it("scrapes /metrics on every app Service's management port through one ServiceMonitor", () => {
    const monitor = must(ofKind(manifests, 'ServiceMonitor')[0], 'a ServiceMonitor');
    const selects = (service: Manifest) =>
      Object.entries(monitor.spec.selector.matchLabels).every(([k, val]) => service.metadata.labels?.[k] === val) &&
      monitor.spec.selector.matchExpressions.every((e: { key: string; values: string[] }) =>
        e.values.includes(service.metadata.labels?.[e.key] ?? ''),
      );
    const selected = ofKind(manifests, 'Service').filter(selects);
    expect(selected.map(componentOf).sort()).toEqual([...APPS].sort());
    // The API port answers /metrics 404: the one endpoint is the management port, which every
    // selected Service names and which targets the container port the app serves /metrics on.
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'management', path: '/metrics' })]);
    for (const service of selected) {
      const port = (service.spec.ports as { name: string; targetPort: string }[]).find((p) => p.name === 'management');
      expect([service.metadata.name, port?.targetPort]).toEqual([service.metadata.name, 'management']);
    }
    expect(monitor.metadata.labels?.['release']).toBe('kube-prometheus-stack');
  });

  it("renders the alert rules from the chart's rule file, or the groups given in values", () => {
    const rules = parse(readRepoFile(`${CHART}/files/prometheus-rules.yaml`)) as { groups: unknown[] };
    expect(ofKind(manifests, 'PrometheusRule')[0].spec.groups).toEqual(rules.groups);
    const custom = [{ name: 'mine', rules: [{ alert: 'Custom', expr: 'vector(1)' }] }];
    const replaced = render({
      files: [`${CHART}/ci/monitoring-values.yaml`],
      set: { 'metrics.prometheusRule.groups': custom },
    });
    expect(ofKind(replaced, 'PrometheusRule')[0].spec.groups).toEqual(custom);
  });

  it("ships the Grafana dashboard docker-compose provisions, labelled for Grafana's sidecar, only when asked", () => {
    const dashboard = named(manifests, 'ConfigMap', `${RELEASE}-cqrs-dashboard`);
    expect(dashboard.metadata.labels?.['grafana_dashboard']).toBe('1');
    expect(dashboard.metadata.annotations?.['grafana_folder']).toBe('CQRS');
    expect(JSON.parse(dashboard.data?.['cqrs-starter.json'] ?? '')).toEqual(
      JSON.parse(readRepoFile(`${CHART}/files/grafana-dashboard.json`)),
    );
    expect(ofKind(render({}), 'ConfigMap').filter((c) => c.metadata.name.endsWith('-dashboard'))).toEqual([]);
  });
});

describe('credentials, TLS and egress', () => {
  const policyOf = (manifests: Manifest[], app: string) => named(manifests, 'NetworkPolicy', fullName(app));
  const secretsOf = (manifests: Manifest[]) => ofKind(manifests, 'Secret');

  it('with existingSecret (the defaults) creates no Secret and mounts the named ones', () => {
    const manifests = render();
    expect(secretsOf(manifests)).toEqual([]);
    const projector = named(manifests, 'Deployment', fullName('projector'));
    const files = mountedFiles(projector, containersOf(projector)[0]);
    expect(files.get('/etc/cqrs/secrets/kafka-password')).toMatchObject({
      kind: 'Secret',
      name: 'cqrs-projector',
      key: 'password',
    });
    expect(files.get('/etc/cqrs/tls/kafka-ca.crt')).toMatchObject({
      kind: 'Secret',
      name: 'cqrs-kafka-cluster-ca-cert',
      key: 'ca.crt',
    });
  });

  it('with inline passwords makes one Secret per app, mounts it, and writes the password nowhere else', () => {
    const options = { files: [`${CHART}/ci/kafka-oauth-values.yaml`] };
    const manifests = render(options);
    expect(
      secretsOf(manifests)
        .map((m) => m.metadata.name)
        .sort(),
    ).toEqual([fullName('outbox-relay-credentials'), fullName('projector-credentials')]);
    const secret = named(manifests, 'Secret', fullName('projector-credentials'));
    expect(Buffer.from(secret.data?.['kafka-password'] ?? '', 'base64').toString()).toBe('not-a-real-secret');
    expect(template(options).stdout).not.toContain('not-a-real-secret');
    // A changed inline password rolls the pods; the mounted file alone would not restart them.
    const projector = named(manifests, 'Deployment', fullName('projector'));
    expect(projector.spec.template.metadata.annotations['checksum/credentials']).toMatch(/^[0-9a-f]{64}$/);
  });

  it("makes the schema registration hook's inline registry password a hook Secret, before the Job", () => {
    const manifests = render({ files: [`${CHART}/ci/confluent-cloud-values.yaml`] });
    const secret = named(manifests, 'Secret', fullName('migrate-schemas-credentials'));
    expect(secret.metadata.annotations).toMatchObject({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '-20',
    });
    const job = named(manifests, 'Job', fullName('migrate-schemas'));
    expect(mountedFiles(job, containersOf(job)[0]).get('/etc/cqrs/secrets/registry-password')).toMatchObject({
      name: secret.metadata.name,
      key: 'registry-password',
    });
  });

  it('refuses a credential with both existingSecret and password, or with neither', () => {
    const both = template({ set: { 'kafka.credentials.relay.password': 'x' } });
    expect(both.status).not.toBe(0);
    expect(both.stderr).toMatch(/kafka\/credentials\/relay/);
    const neither = template({ set: { 'schemaRegistry.auth': 'basic' } });
    expect(neither.status).not.toBe(0);
    expect(neither.stderr).toMatch(
      /schemaRegistry\.credentials\.(\w+) needs its registry password: set schemaRegistry\.credentials\.\1\.existingSecret \(and passwordKey\), or schemaRegistry\.credentials\.\1\.password/,
    );
    const token = template({ set: { 'kafka.security.mechanism': 'OAUTHBEARER' } });
    expect(token.stderr).toContain('kafka.security.oauthbearer.tokenUrl is required with mechanism OAUTHBEARER');
  });

  it('gives PLAINTEXT Kafka clients no TLS or SASL settings and mounts nothing for Kafka', () => {
    const manifests = render({ set: { 'kafka.security.protocol': 'PLAINTEXT', 'kafka.brokers': ['kafka:9092'] } });
    const relay = named(manifests, 'Deployment', fullName('outbox-relay'));
    const env = resolveEnv(containersOf(relay)[0], manifests).values;
    expect(Object.keys(env).filter((n) => n.startsWith('KAFKA_'))).toEqual([
      'KAFKA_BROKERS',
      'KAFKA_SECURITY_PROTOCOL',
    ]);
    expect([...mountedFiles(relay, containersOf(relay)[0]).keys()].filter((p) => p.includes('kafka'))).toEqual([]);
  });

  it('names the Postgres CA only when TLS verifies against it', () => {
    const off = render({ set: { 'postgres.sslMode': 'disable' } });
    const query = named(off, 'Deployment', fullName('query-service'));
    expect(resolveEnv(containersOf(query)[0], off).values['DATABASE_URL']).toMatch(/\?sslmode=disable$/);
    expect(mountedFiles(query, containersOf(query)[0]).has(POSTGRES_CA)).toBe(false);
  });

  it("sends each dependency's egress only to its peers in networkPolicy.egress", () => {
    const manifests = render({ set: { 'otel.enabled': true } });
    const rulesTo = (app: string, port: number) =>
      (policyOf(manifests, app).spec.egress as { ports: { port: number }[]; to: unknown[] }[])
        .filter((r) => r.ports.some((p) => p.port === port))
        .map((r) => r.to);
    const { egress } = values.networkPolicy;
    expect(rulesTo('projector', 53)).toEqual([egress['dns']]);
    expect(rulesTo('projector', 5432)).toEqual([egress['postgres']]);
    expect(rulesTo('projector', 9093)).toEqual([egress['kafka']]);
    expect(rulesTo('projector', 8080)).toEqual([egress['schemaRegistry']]);
    expect(rulesTo('command-service', 443)).toEqual([egress['issuer']]);
    expect(rulesTo('query-service', 4318)).toEqual([egress['otel']]);
    expect(rulesTo('query-service', 9093)).toEqual([]);
    const hook = ofKind(manifests, 'NetworkPolicy').find(isHook);
    expect(
      (must(hook, "the hooks' NetworkPolicy").spec.egress as { to?: unknown[] }[]).every((r) => r.to?.length),
    ).toBe(true);
  });

  it('refuses an empty peer list, which would open the port to every address', () => {
    const result = template({ set: { 'networkPolicy.egress.postgres': [] } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/networkPolicy\/egress\/postgres/);
  });

  it('refuses a grace period shorter than the preStop sleep and the drains, and can leave preStop out', () => {
    const short = template({ set: { terminationGracePeriodSeconds: 15 } });
    expect(short.status).not.toBe(0);
    expect(short.stderr).toContain('terminationGracePeriodSeconds (15) is too short for outbox-relay');
    const none = render({ set: { 'preStop.sleepSeconds': 0 } });
    for (const deployment of ofKind(none, 'Deployment'))
      expect(containersOf(deployment)[0]['lifecycle']).toBeUndefined();
  });
});

describe('app settings (<app>.env)', () => {
  it('reach the app through its ConfigMap', () => {
    const manifests = render({ set: { 'commandService.env': { SNAPSHOT_EVERY: 50 } } });
    expect(named(manifests, 'ConfigMap', fullName('command-service')).data?.['SNAPSHOT_EVERY']).toBe('50');
  });

  it("can't silently override what the chart sets itself", () => {
    const result = template({ set: { 'projector.env': { KAFKA_BROKERS: 'elsewhere:9092' } } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('projector.env.KAFKA_BROKERS: the chart sets KAFKA_BROKERS itself');
  });
});

describe('the token issuer and the management port', () => {
  it('fails to render without auth.oidc.issuerUrl, saying what to set', () => {
    for (const options of [{}, { files: [`${CHART}/ci/fixed-replicas-values.yaml`] }]) {
      const result = chart.template({ ...options, set: { 'auth.oidc.issuerUrl': '' } });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(
        "auth.oidc.issuerUrl is required: the OIDC issuer whose access tokens command-service, query-service and the projector's admin API accept, exactly as the tokens' iss",
      );
    }
  });

  it('refuses a management port equal to the API port', () => {
    const result = template({ set: { 'queryService.managementPort': 3001 } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('queryService.managementPort (3001) must differ from queryService.port');
  });

  it('refuses a management port on an app without an API, and an API app without one', () => {
    const extra = template({ set: { 'projector.managementPort': 9002 } });
    expect(extra.status).not.toBe(0);
    expect(extra.stderr).toMatch(/projector/);
    const missing = template({ set: { 'commandService.managementPort': null } });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/commandService.*managementPort/s);
  });

  it('closes a port whose peer list is empty, instead of opening it to every source', () => {
    const manifests = render({ set: { 'networkPolicy.metricsScrapers': [], 'networkPolicy.apiClients': [] } });
    for (const policy of ofKind(manifests, 'NetworkPolicy').filter((p) => !isHook(p))) {
      expect([policy.metadata.name, policy.spec.ingress]).toEqual([policy.metadata.name, []]);
    }
  });

  it("admits networkPolicy.adminClients to the projector's one port (its admin API), and nowhere else", () => {
    const console = [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'cqrs-console' } } }];
    const manifests = render({ set: { 'networkPolicy.adminClients': console } });
    for (const policy of ofKind(manifests, 'NetworkPolicy').filter((p) => !isHook(p))) {
      const app = policy.spec.podSelector.matchLabels['app.kubernetes.io/component'];
      const admitted = (policy.spec.ingress as { from: unknown[] }[]).filter(
        (rule) => JSON.stringify(rule.from) === JSON.stringify(console),
      );
      expect([app, admitted.length]).toEqual([app, app === 'projector' ? 1 : 0]);
    }
  });

  it('lets the API apps and the projector fetch keys from the issuer (its discovery port, or the jwksUrl port when set)', () => {
    const egressPorts = (manifests: Manifest[], app: string) =>
      named(manifests, 'NetworkPolicy', fullName(app)).spec.egress.flatMap((rule: { ports: { port: number }[] }) =>
        rule.ports.map((p) => p.port),
      );
    const discovery = render({ set: { 'auth.oidc.issuerUrl': 'https://sso.example.com:8443/realms/cqrs' } });
    expect(egressPorts(discovery, 'command-service')).toContain(8443);
    // The projector's admin API verifies tokens too; the relay takes none.
    expect(egressPorts(discovery, 'projector')).toContain(8443);
    expect(egressPorts(discovery, 'outbox-relay')).not.toContain(8443);
    const keys = render({
      set: {
        'auth.oidc.issuerUrl': 'https://sso.example.com/realms/cqrs',
        'auth.oidc.jwksUrl': 'http://keycloak.identity:8081/certs',
      },
    });
    expect(egressPorts(keys, 'query-service')).toContain(8081);
    expect(egressPorts(keys, 'query-service')).not.toContain(443);
  });
});

describe('values.schema.json', () => {
  it('rejects a bad values file at install time, naming each wrong value', () => {
    const result = template({ files: ['tools/deploy/src/fixtures/bad-values.yaml'] });
    expect(result.status).not.toBe(0);
    const message = result.stderr;
    expect(message).toContain("values don't meet the specifications of the schema");
    expect(message).toMatch(/outbox\/mode.*'relay', 'debezium'/);
    expect(message).toMatch(/kafka\/brokers\/0.*broker-without-port/);
    expect(message).toMatch(/comandService/);
    expect(message).toMatch(/kafka\/topicPartitions.*1/);
    expect(message).toMatch(/postgres\/sslMode.*'require'/);
  });
});

describe('NOTES.txt', () => {
  it('tells how to reach the APIs, their docs and their issuer, and watch the rollout of every app', () => {
    const notes = renderNotes();
    const manifests = render();
    for (const app of ['command-service', 'query-service'] as const) {
      const service = named(manifests, 'Service', fullName(app));
      const port = (name: string) =>
        (service.spec.ports as { name: string; port: number }[]).find((p) => p.name === name)?.port;
      const [api, management] = [port('http'), port('management')];
      expect(notes).toContain(
        `kubectl -n ${NAMESPACE} port-forward svc/${service.metadata.name} ${api}:${api} ${management}:${management}`,
      );
      // The docs are on the management port; the API port answers them 404.
      expect(notes).toContain(`http://127.0.0.1:${management}/docs`);
      expect(notes).not.toContain(`http://127.0.0.1:${api}/docs`);
    }
    expect(notes).toContain(`access token from ${requiredValues.auth.oidc.issuerUrl}`);
    for (const deployment of ofKind(manifests, 'Deployment')) {
      expect(notes).toContain(`kubectl -n ${NAMESPACE} rollout status deployment/${deployment.metadata.name}`);
    }
    for (const job of ofKind(manifests, 'Job')) expect(notes).toContain(`logs job/${job.metadata.name}`);
  });

  it('in Debezium mode, tells how to check the connector instead of a relay', () => {
    const notes = renderNotes({ files: [`${CHART}/ci/debezium-values.yaml`] });
    expect(notes).toContain(`get kafkaconnector ${fullName('outbox')}`);
    expect(notes).not.toContain('deployment/' + fullName('outbox-relay'));
  });
});
