import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { CHART, ensureHelm, HelmResult, Manifest } from './helm';
import { repoRoot } from './repo';

// `npm run deploy:verify`, and the deployment tests' server-side checks: what `helm install` or
// `helm upgrade` of the chart would do to a cluster, asked of that cluster's API server without
// changing anything.
//   1. `helm upgrade --install --dry-run=server`: the chart renders with the cluster's version and
//      API groups (a missing CRD fails here), the values pass values.schema.json, and every
//      resource is validated against the server's OpenAPI schema (CRDs' included).
//   2. Each rendered object, hooks included (Helm's dry run validates no hook), goes to the server
//      as a server-side dry run (`kubectl create|apply --dry-run=server`): the API server's own
//      validation, defaulting, immutable fields, Pod Security admission and any admission webhooks
//      (Kyverno, Gatekeeper...) judge it, and store nothing.

export interface ClusterTarget {
  /** A kubeconfig file; default: $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** A context of it; default: its current context. */
  context?: string;
}

export interface ValueOptions {
  /** Values files (absolute or relative to the repo root). */
  files?: string[];
  /** --set-json pairs: path -> any JSON value. */
  set?: Record<string, unknown>;
}

const clusterArgs = (target: ClusterTarget): string[] => [
  ...(target.kubeconfig ? ['--kubeconfig', target.kubeconfig] : []),
  ...(target.context ? ['--kube-context', target.context] : []),
];

const valueArgs = ({ files = [], set = {} }: ValueOptions): string[] => [
  ...files.flatMap((file) => ['-f', file]),
  ...Object.entries(set).flatMap(([path, value]) => ['--set-json', `${path}=${JSON.stringify(value)}`]),
];

/** Runs helm against a cluster, in the repo root. */
export function helmAt(target: ClusterTarget, args: string[], timeoutMs = 180_000): HelmResult {
  const result = spawnSync(ensureHelm(), [...args, ...clusterArgs(target)], {
    cwd: repoRoot(),
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs kubectl against a cluster (`--cache-dir`: a scratch discovery cache, never ~/.kube/cache for throwaway clusters). */
export function kubectlAt(
  kubectl: string,
  target: ClusterTarget,
  args: string[],
  options: { cacheDir?: string; input?: string } = {},
): HelmResult {
  const result = spawnSync(
    kubectl,
    [
      ...args,
      ...(target.kubeconfig ? ['--kubeconfig', target.kubeconfig] : []),
      ...(target.context ? ['--context', target.context] : []),
      ...(options.cacheDir ? ['--cache-dir', options.cacheDir] : []),
    ],
    { encoding: 'utf8', timeout: 120_000, input: options.input, maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const parseManifests = (text: string): Manifest[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && typeof m === 'object' && 'kind' in m);

export const describeObject = (m: Pick<Manifest, 'kind' | 'metadata'>): string =>
  `${m.kind}/${m.metadata.name}${m.metadata.namespace ? ` (${m.metadata.namespace})` : ''}`;

/** Helm's hook delete policy says it deletes the object before creating it again. */
const recreatedByHelm = (m: Manifest): boolean =>
  (m.metadata.annotations?.['helm.sh/hook-delete-policy'] ?? '').split(',').includes('before-hook-creation');

export interface ObjectCheck {
  object: string;
  hook: boolean;
  /** create: a new object; apply: an update of the object the cluster has. */
  action: 'create' | 'apply';
  ok: boolean;
  /** The server's refusal, when not ok. */
  error: string;
  /** Warnings the server answered with (deprecated APIs, Pod Security in warn mode...). */
  warnings: string[];
}

export interface VerifyReport {
  release: string;
  namespace: string;
  /** What `helm upgrade --install --dry-run=server` would do: install a new release or upgrade one. */
  mode: 'install' | 'upgrade';
  /** The dry run itself (its stderr holds Helm's and the server's warnings). */
  helm: HelmResult;
  objects: Manifest[];
  hooks: Manifest[];
  /** One check per object (empty when the dry run failed). */
  checks: ObjectCheck[];
  /** Notes on how the checks were made (e.g. the namespace does not exist yet). */
  notes: string[];
  ok: boolean;
}

export interface VerifyOptions extends ValueOptions {
  target: ClusterTarget;
  kubectl: string;
  release: string;
  namespace: string;
  /** Chart directory relative to the repo root; default helm/cqrs. */
  chart?: string;
  /** More `helm upgrade` flags (e.g. --skip-schema-validation, to ask the server about what the schema refuses). */
  extraArgs?: string[];
  /** kubectl's discovery cache for this cluster (default: a scratch directory of this run). */
  cacheDir?: string;
}

/** Dry-runs an install or upgrade of the chart on a cluster: see the top of this file. */
export function verifyRelease(options: VerifyOptions): VerifyReport {
  const { target, kubectl, release, namespace } = options;
  const notes: string[] = [];
  const history = helmAt(target, ['history', release, '--namespace', namespace, '--max', '1', '-o', 'json']);
  const mode = history.status === 0 ? 'upgrade' : 'install';
  const helm = helmAt(target, [
    'upgrade',
    '--install',
    release,
    options.chart ?? CHART,
    '--namespace',
    namespace,
    '--dry-run=server',
    '--output',
    'json',
    ...valueArgs(options),
    ...(options.extraArgs ?? []),
  ]);
  const report: VerifyReport = { release, namespace, mode, helm, objects: [], hooks: [], checks: [], notes, ok: false };
  if (helm.status !== 0) return report;
  const rendered = JSON.parse(helm.stdout) as { manifest?: string; hooks?: { manifest: string }[] };
  report.objects = parseManifests(rendered.manifest ?? '');
  report.hooks = (rendered.hooks ?? []).flatMap((hook) => parseManifests(hook.manifest));

  const scratch = mkdtempSync(join(tmpdir(), 'cqrs-verify-'));
  try {
    const cacheDir = options.cacheDir ?? join(scratch, 'kube-cache');
    let checkNamespace = namespace;
    if (kubectlAt(kubectl, target, ['get', 'namespace', namespace, '-o', 'name'], { cacheDir }).status !== 0) {
      checkNamespace = 'default';
      notes.push(
        `namespace ${namespace} does not exist yet (helm install --create-namespace would create it): the objects were checked in namespace default`,
      );
    }
    const candidates = [
      ...report.objects.map((manifest) => ({ manifest, hook: false })),
      ...report.hooks.map((manifest) => ({ manifest, hook: true })),
    ].map(({ manifest, hook }) => {
      const object: Manifest = structuredClone(manifest);
      if (object.metadata.namespace) object.metadata.namespace = checkNamespace;
      return { manifest, hook, object };
    });
    const documents = (objects: Manifest[]) => objects.map((o) => stringify(o)).join('---\n');
    // Which of them the cluster has (one request for all).
    writeFileSync(join(scratch, 'all.yaml'), documents(candidates.map((c) => c.object)));
    const found = kubectlAt(
      kubectl,
      target,
      ['get', '-f', join(scratch, 'all.yaml'), '-o', 'json', '--ignore-not-found'],
      {
        cacheDir,
      },
    );
    if (found.status !== 0) throw new Error(`kubectl get failed: ${found.stderr}`);
    const existing = new Set(
      (found.stdout.trim() ? ((JSON.parse(found.stdout) as { items?: Manifest[] }).items ?? []) : []).map(
        (o) => `${o.kind}/${o.metadata.name}`,
      ),
    );
    const planned = candidates.map((c) => {
      const exists = existing.has(`${c.object.kind}/${c.object.metadata.name}`);
      // A hook Helm deletes before creating it again is a create, whatever the cluster holds now:
      // checked under another name, so that the existing one does not answer "already exists".
      if (exists && c.hook && recreatedByHelm(c.manifest)) {
        c.object.metadata.name = `${c.object.metadata.name.slice(0, 55)}-verify`;
        return { ...c, action: 'create' as const };
      }
      return { ...c, action: exists ? ('apply' as const) : ('create' as const) };
    });
    const dryRun = (action: ObjectCheck['action'], file: string) =>
      kubectlAt(
        kubectl,
        target,
        action === 'create'
          ? ['create', '--dry-run=server', '-o', 'name', '-f', file]
          : [
              'apply',
              '--server-side',
              '--force-conflicts',
              '--field-manager=helm',
              '--dry-run=server',
              '-o',
              'name',
              '-f',
              file,
            ],
        { cacheDir },
      );
    const lines = (result: HelmResult, warning: boolean) =>
      result.stderr.split('\n').filter((line) => line.trim() && /^Warning: /.test(line) === warning);
    const alone = (action: ObjectCheck['action'], object: Manifest, name: string) => {
      writeFileSync(join(scratch, name), documents([object]));
      return dryRun(action, join(scratch, name));
    };
    for (const action of ['create', 'apply'] as const) {
      const batch = planned.filter((p) => p.action === action);
      if (!batch.length) continue;
      const file = join(scratch, `${action}.yaml`);
      writeFileSync(file, documents(batch.map((p) => p.object)));
      const result = dryRun(action, file);
      // kubectl goes on past a refused object and names each in its error ('Kind.group "name" is
      // invalid: ...'); warnings name none, so with warnings, or an error naming no object of the
      // batch, each object goes again alone, to say which.
      const errors = lines(result, false);
      const errorsOf = (p: (typeof batch)[number]) =>
        errors.filter(
          (line) =>
            line.includes(`"${p.object.metadata.name}"`) && line.toLowerCase().includes(p.object.kind.toLowerCase()),
        );
      const attributed = errors.every((line) => batch.some((p) => errorsOf(p).includes(line)));
      const eachAlone = !attributed || lines(result, true).length > 0 || (result.status !== 0 && errors.length === 0);
      for (const [index, p] of batch.entries()) {
        const own = eachAlone ? alone(action, p.object, `${action}-${index}.yaml`) : undefined;
        const ownErrors = own ? lines(own, false) : errorsOf(p);
        const ok = own ? own.status === 0 : ownErrors.length === 0;
        report.checks.push({
          object: describeObject(p.manifest),
          hook: p.hook,
          action,
          ok,
          error: ok ? '' : ownErrors.join('\n') || `kubectl exited ${own?.status}`,
          warnings: own ? lines(own, true).map((line) => line.replace(/^Warning: /, '')) : [],
        });
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  report.ok = report.checks.every((c) => c.ok);
  return report;
}

/** The report as lines for a person. */
export function formatReport(report: VerifyReport): string {
  const lines = [
    `helm upgrade --install ${report.release} --namespace ${report.namespace} --dry-run=server: ${
      report.helm.status === 0 ? `ok (would ${report.mode})` : 'FAILED'
    }`,
  ];
  if (report.helm.status !== 0) lines.push(report.helm.stderr.trim());
  const helmWarnings = report.helm.stderr
    .split('\n')
    .filter((line) => /warning/i.test(line))
    .map((line) => `  warning: ${line.trim()}`);
  if (report.helm.status === 0) lines.push(...helmWarnings);
  if (report.checks.length) {
    lines.push(`server-side dry run of ${report.checks.length} objects (${report.hooks.length} of them hooks):`);
    for (const check of report.checks) {
      lines.push(`  ${check.ok ? 'ok    ' : 'FAILED'} ${check.action} ${check.object}${check.hook ? ' [hook]' : ''}`);
      if (!check.ok) lines.push(...check.error.split('\n').map((line) => `         ${line}`));
      lines.push(...check.warnings.map((warning) => `         warning: ${warning}`));
    }
  }
  lines.push(...report.notes.map((note) => `note: ${note}`));
  lines.push(report.ok ? 'verified: the cluster accepts every object' : 'NOT verified: see above');
  return lines.join('\n');
}
