import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './repo';

export const CHART = 'helm/cqrs';
export const RELEASE = 'demo';
export const NAMESPACE = 'cqrs';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- Kubernetes objects of every kind
  data?: Record<string, string>;
  [key: string]: unknown;
}

let helmPath: string | undefined;

/**
 * A Helm 3 binary: tools/scripts/ensure-helm.sh finds one or builds the pinned version with
 * `go install` into ~/.cache/cqrs-tools (minutes the first time on a machine, instant after).
 */
export function ensureHelm(): string {
  if (!helmPath) {
    helmPath = execFileSync('bash', [join(repoRoot(), 'tools/scripts/ensure-helm.sh')], {
      cwd: repoRoot(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 20 * 60_000,
    }).trim();
  }
  return helmPath;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs helm in the repo root. */
export function helm(args: string[]): HelmResult {
  const result = spawnSync(ensureHelm(), args, { cwd: repoRoot(), encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface RenderOptions {
  /** Values files, relative to the repo root. */
  files?: string[];
  /** --set-json pairs: path -> any JSON value. */
  set?: Record<string, unknown>;
}

const valueArgs = ({ files = [], set = {} }: RenderOptions): string[] => [
  ...files.flatMap((file) => ['-f', file]),
  ...Object.entries(set).flatMap(([path, value]) => ['--set-json', `${path}=${JSON.stringify(value)}`]),
];

/** `helm template` (install mode) as a result; see render() for the parsed manifests. */
export const template = (options: RenderOptions = {}): HelmResult =>
  helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...valueArgs(options)]);

/** `helm template` with hooks, parsed; throws with Helm's message when rendering fails. */
export function render(options: RenderOptions = {}): Manifest[] {
  const result = template(options);
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}):\n${result.stderr}`);
  const documents = parseAllDocuments(result.stdout);
  const errors = documents.flatMap((d) => d.errors);
  if (errors.length) throw new Error(`helm template wrote invalid YAML: ${errors.map((e) => e.message).join('; ')}`);
  return documents.map((d) => d.toJS() as Manifest | null).filter((m): m is Manifest => m !== null);
}

/** `helm lint --strict` with the given values. */
export const lint = (options: RenderOptions = {}): HelmResult =>
  helm(['lint', '--strict', CHART, ...valueArgs(options)]);

export const ofKind = (manifests: Manifest[], kind: string): Manifest[] => manifests.filter((m) => m.kind === kind);

export function named(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found)
    throw new Error(`no ${kind} ${name}; rendered: ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  return found;
}

/** The app a workload belongs to (its app.kubernetes.io/component label). */
export const componentOf = (m: Manifest): string | undefined => m.metadata.labels?.['app.kubernetes.io/component'];

export const isHook = (m: Manifest): boolean => Boolean(m.metadata.annotations?.['helm.sh/hook']);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}

export interface Container {
  name: string;
  image: string;
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  [key: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- probes, resources, securityContext...
}

export interface ResolvedEnv {
  /** Values as the kubelet hands them to the process, $(VAR) references expanded. */
  values: Record<string, string>;
  /** Where each secret-backed variable comes from. */
  secrets: Record<string, { name: string; key: string }>;
  /** Names that appear as $(NAME) in another variable. */
  referenced: Set<string>;
}

/**
 * A secret value stand-in, traceable to its Secret and key: a URL for *_URL variables (a Secret
 * holding a whole connection string), otherwise a URL-safe word (a user name, a password).
 */
export const secretPlaceholder = (name: string, key: string, variable = ''): string =>
  /_URL(_|$)/.test(variable) ? `postgres://secret.${name}.${key}@secret.invalid/secret` : `secret.${name}.${key}`;

/**
 * The environment a container gets: envFrom ConfigMaps first, then env in order, each value's
 * $(VAR) expanded against what precedes it (the kubelet's rules). Secrets become placeholders.
 */
export function resolveEnv(container: Container, manifests: Manifest[]): ResolvedEnv {
  const values: Record<string, string> = {};
  const secrets: ResolvedEnv['secrets'] = {};
  const referenced = new Set<string>();
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef)
      throw new Error(`${container.name}: envFrom other than a ConfigMap: ${JSON.stringify(source)}`);
    Object.assign(values, named(manifests, 'ConfigMap', source.configMapRef.name).data ?? {});
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (from?.secretKeyRef) {
      secrets[variable.name] = from.secretKeyRef;
      values[variable.name] = secretPlaceholder(from.secretKeyRef.name, from.secretKeyRef.key, variable.name);
    } else if (from?.configMapKeyRef) {
      values[variable.name] =
        named(manifests, 'ConfigMap', from.configMapKeyRef.name).data?.[from.configMapKeyRef.key] ?? '';
    } else if (from?.fieldRef) {
      values[variable.name] = `field.${from.fieldRef.fieldPath}`;
    } else {
      values[variable.name] = (variable.value ?? '').replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (match, name: string) => {
          referenced.add(name);
          return name in values ? values[name] : match;
        },
      );
    }
  }
  return { values, secrets, referenced };
}

/** The pod template's containers of a workload (Deployment, Job). */
export const containersOf = (m: Manifest): Container[] => m.spec?.template?.spec?.containers ?? [];

/** Where a file in a container comes from: one key of a Secret or a ConfigMap. */
export interface MountedFile {
  kind: 'Secret' | 'ConfigMap';
  name: string;
  key: string;
  /** The volume's name and whether the container mounts it read-only. */
  volume: string;
  readOnly: boolean;
}

interface ProjectionSource {
  secret?: { name: string; items?: { key: string; path: string }[] };
  configMap?: { name: string; items?: { key: string; path: string }[] };
}

/**
 * The files a container sees from Secret, ConfigMap and projected volumes, by absolute path. Only
 * sources that list their items (as the chart's do) are resolved; a whole-object volume is an error.
 */
export function mountedFiles(workload: Manifest, container: Container): Map<string, MountedFile> {
  const files = new Map<string, MountedFile>();
  const volumes = (workload.spec?.template?.spec?.volumes ?? []) as ({
    name: string;
    projected?: { sources: ProjectionSource[] };
  } & ProjectionSource)[];
  for (const mount of (container['volumeMounts'] ?? []) as {
    name: string;
    mountPath: string;
    readOnly?: boolean;
    subPath?: string;
  }[]) {
    const volume = volumes.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`${container.name} mounts ${mount.name}, which the pod does not define`);
    const sources: ProjectionSource[] = volume.projected?.sources ?? [volume];
    for (const source of sources) {
      const [kind, ref] = source.secret
        ? (['Secret', source.secret] as const)
        : source.configMap
          ? (['ConfigMap', source.configMap] as const)
          : [undefined, undefined];
      if (!kind || !ref) continue;
      if (!ref.items?.length)
        throw new Error(`${container.name}: volume ${mount.name} projects all of ${kind} ${ref.name}: name the keys`);
      for (const item of ref.items) {
        files.set(`${mount.mountPath}/${item.path}`, {
          kind,
          name: ref.name,
          key: item.key,
          volume: mount.name,
          readOnly: mount.readOnly === true,
        });
      }
    }
  }
  return files;
}

const STAND_IN_CERTIFICATE = '-----BEGIN CERTIFICATE-----\nc3RhbmQtaW4=\n-----END CERTIFICATE-----\n';
const STAND_IN_KEY = '-----BEGIN PRIVATE KEY-----\nc3RhbmQtaW4=\n-----END PRIVATE KEY-----\n';

/**
 * An environment whose mounted-file paths point at stand-ins written under `dir` (certificates
 * and keys as PEM shapes, other secrets as `secret.<name>.<key>`), so an app's config, which reads
 * its *_FILE settings at start-up, can load it here. Returns the rewritten values and the paths
 * the environment names that no volume provides.
 */
export function withStandInFiles(
  values: Record<string, string>,
  files: Map<string, MountedFile>,
  dir: string,
): { values: Record<string, string>; missing: string[] } {
  const missing: string[] = [];
  const rewrite = (value: string): string =>
    value.replace(/\/etc\/cqrs\/[\w./-]+/g, (path) => {
      const file = files.get(path);
      if (!file) {
        missing.push(path);
        return path;
      }
      const local = join(dir, path.replace(/\//g, '_'));
      const content = /\.(crt|pem)$/.test(path)
        ? STAND_IN_CERTIFICATE
        : /\.key$/.test(path)
          ? STAND_IN_KEY
          : `secret.${file.name}.${file.key}\n`;
      writeFileSync(local, content, { mode: 0o600 });
      return local;
    });
  return { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, rewrite(v)])), missing };
}

/**
 * NOTES.txt as `helm install` would print it. `helm template` skips NOTES and `helm install
 * --dry-run` wants a cluster, so this renders a copy of the chart in which NOTES.txt is wrapped
 * in a manifest's block scalar (a sentinel first line keeps `{{-` from eating the scalar's start).
 */
export function renderNotes(options: RenderOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'cqrs-chart-'));
  try {
    const chart = join(dir, 'cqrs');
    cpSync(join(repoRoot(), CHART), chart, { recursive: true });
    const notes = readFileSync(join(chart, 'templates/NOTES.txt'), 'utf8');
    rmSync(join(chart, 'templates/NOTES.txt'));
    const indented = notes
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n');
    writeFileSync(
      join(chart, 'templates/zz-notes.yaml'),
      `apiVersion: test/v1\nkind: Notes\nmetadata:\n  name: notes\ntext: |-\n    NOTES:\n${indented}\n`,
    );
    const files = (options.files ?? []).map((file) => join(repoRoot(), file));
    const result = helm(['template', RELEASE, chart, '--namespace', NAMESPACE, ...valueArgs({ ...options, files })]);
    if (result.status !== 0) throw new Error(`rendering NOTES.txt failed:\n${result.stderr}`);
    const doc = parseAllDocuments(result.stdout)
      .map((d) => d.toJS() as { kind?: string; text?: string } | null)
      .find((m) => m?.kind === 'Notes');
    if (typeof doc?.text !== 'string') throw new Error(`NOTES.txt rendered to nothing:\n${result.stdout}`);
    return doc.text.replace(/^NOTES:\n?/, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
