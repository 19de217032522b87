import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeApi, waitFor } from './kube-api';
import { repoRoot } from './repo';

// A Kubernetes control plane of real binaries on loopback, for the deployment tests and
// `npm run deploy:verify`: etcd, kube-apiserver (static token + RBAC, Pod Security admission, every
// default admission plugin) and kube-controller-manager (Deployments become ReplicaSets and Pods, HPAs
// and PDBs are evaluated, namespaces are emptied on deletion; no kubelet, so no Pod ever runs).
// Binaries: tools/scripts/ensure-kube.sh (built from the Go module proxy once per machine).
// Every process runs in a process group of its own; stop() ends the groups, and so do an exit
// handler and a watchdog process (for a test runner that is killed outright).

export interface ControlPlane {
  /** The version the API server reports (what `helm` sees as the cluster's Kubernetes version). */
  readonly version: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** A kubeconfig whose current context is this cluster as a cluster admin (system:masters). */
  readonly kubeconfig: string;
  /** The directory holding etcd, kube-apiserver, kube-controller-manager and kubectl. */
  readonly binDir: string;
  readonly api: KubeApi;
  /** The temp directory (certificates, etcd's data, logs); removed by stop(). */
  readonly dir: string;
  /** The process group ids of the components (each the pid of its leader). */
  readonly groups: number[];
  /** The last lines of a component's log, for failure messages. */
  logTail(component: 'etcd' | 'kube-apiserver' | 'kube-controller-manager', lines?: number): string;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** A Kubernetes release, v1.N.M; default: ensure-kube.sh's pinned version. */
  version?: string;
  /** Start kube-controller-manager too (default true). */
  controllerManager?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** The directory of a control plane's binaries: tools/scripts/ensure-kube.sh [version] (builds on first use). */
export function ensureKube(version?: string): string {
  return execFileSync('bash', [join(repoRoot(), 'tools/scripts/ensure-kube.sh'), ...(version ? [version] : [])], {
    cwd: repoRoot(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 45 * 60_000,
  }).trim();
}

/** The CRDs directory of tools/scripts/ensure-crds.sh (fetched on first use). */
export function ensureCrds(): string {
  return execFileSync('bash', [join(repoRoot(), 'tools/scripts/ensure-crds.sh')], {
    cwd: repoRoot(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 10 * 60_000,
  }).trim();
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel's ephemeral range). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const openssl = (dir: string, args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
};

/** A CA, the API server's serving certificate (127.0.0.1, localhost) and the service-account key pair. */
function writeCertificates(dir: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=cqrs-test-ca',
  ]);
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'apiserver.key',
    '-out',
    'apiserver.csr',
    '-subj',
    '/CN=kube-apiserver',
  ]);
  writeFileSync(
    join(dir, 'apiserver.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n',
  );
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'apiserver.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'apiserver.crt',
    '-days',
    '2',
    '-extfile',
    'apiserver.ext',
  ]);
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function kubeconfigYaml(server: string, ca: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: cqrs-local',
    '    cluster:',
    `      server: ${server}`,
    `      certificate-authority-data: ${Buffer.from(ca).toString('base64')}`,
    'users:',
    '  - name: cqrs-admin',
    '    user:',
    `      token: ${token}`,
    'contexts:',
    '  - name: cqrs-local',
    '    context: { cluster: cqrs-local, user: cqrs-admin }',
    'current-context: cqrs-local',
    '',
  ].join('\n');
}

const live = new Set<{ groups: number[]; dir: string }>();
let handlersInstalled = false;

function killGroups(groups: number[], signal: NodeJS.Signals): void {
  for (const group of groups) {
    try {
      process.kill(-group, signal);
    } catch {
      // already gone
    }
  }
}

/** Whether any process of the group is still there. */
export function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

/** On exit, and on a signal that would end the process, no component may outlive this process. */
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const killAll = () => {
    for (const plane of live) {
      killGroups(plane.groups, 'SIGKILL');
      rmSync(plane.dir, { recursive: true, force: true });
    }
    live.clear();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll();
      process.off(signal, onSignal);
      // What the signal would have done had this handler not been here.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * Ends the components if this process dies without running its exit handlers (SIGKILL, OOM): a
 * shell in a group of its own that polls this process and then kills the groups listed in `file`.
 */
function startWatchdog(dir: string, file: string): number {
  const script = [
    'owner=$1 dir=$2 file=$3',
    'while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 2; done',
    '[ -d "$dir" ] || exit 0',
    'for group in $(cat "$file" 2>/dev/null); do kill -KILL -- "-$group" 2>/dev/null; done',
    'rm -rf "$dir"',
  ].join('\n');
  const watchdog = spawn('bash', ['-c', script, 'cqrs-kube-watchdog', String(process.pid), dir, file], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  return watchdog.pid ?? 0;
}

async function waitHttp(url: string, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  await waitFor(
    url,
    () => {
      const gone = exited();
      if (gone) throw new Error(gone);
      return new Promise<boolean>((resolve) => {
        const req = httpGet(url, { timeout: 2000 }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        });
        req.on('error', () => resolve(false));
        req.on('timeout', () => req.destroy());
      });
    },
    timeoutMs,
  );
}

/** Starts etcd, kube-apiserver and (by default) kube-controller-manager in a new temp directory. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => undefined);
  const binDir = ensureKube(options.version);
  installHandlers();
  const dir = mkdtempSync(join(tmpdir(), 'cqrs-kube-'));
  const groupsFile = join(dir, 'groups');
  writeFileSync(groupsFile, '');
  const groups: number[] = [];
  const state = { groups, dir };
  live.add(state);
  const watchdog = startWatchdog(dir, groupsFile);
  groups.push(watchdog);
  const children = new Map<string, ChildProcess>();
  const exits = new Map<string, string>();

  const launch = (name: string, args: string[]): ChildProcess => {
    const out = openSync(join(dir, `${name}.log`), 'a');
    const child = spawn(join(binDir, name), args, { cwd: dir, detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    child.unref();
    if (!child.pid) throw new Error(`could not start ${name}`);
    groups.push(child.pid);
    appendFileSync(groupsFile, `${child.pid}\n`);
    child.on('exit', (code, signal) => exits.set(name, `${name} exited (${signal ?? code}):\n${tail(name)}`));
    children.set(name, child);
    return child;
  };
  const tail = (name: string, lines = 30): string => {
    const file = join(dir, `${name}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '';
  };

  let api: KubeApi | undefined;
  const stop = async (): Promise<void> => {
    api?.close();
    // The controller manager first (it would log the API server's going), etcd last.
    for (const name of ['kube-controller-manager', 'kube-apiserver', 'etcd']) {
      const child = children.get(name);
      if (!child?.pid) continue;
      killGroups([child.pid], 'SIGTERM');
      try {
        await waitFor(`${name} to exit`, async () => !groupAlive(child.pid as number), 15_000, 100);
      } catch {
        killGroups([child.pid], 'SIGKILL');
        await waitFor(`${name} to die`, async () => !groupAlive(child.pid as number), 5_000, 100);
      }
    }
    killGroups([watchdog], 'SIGKILL');
    await waitFor('the watchdog to exit', async () => !groupAlive(watchdog), 5_000, 50);
    live.delete(state);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    writeCertificates(dir);
    const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},cqrs-admin,cqrs-admin,"system:masters"\n`, { mode: 0o600 });

    log(`etcd on 127.0.0.1:${etcdPort}`);
    launch('etcd', [
      '--name=cqrs',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=cqrs=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync', // a throwaway store: nothing to keep through a power cut
      '--log-level=warn',
    ]);
    await waitHttp(`http://127.0.0.1:${etcdPort}/health`, 30_000, () => exits.get('etcd'));

    const server = `https://127.0.0.1:${apiPort}`;
    log(`kube-apiserver on ${server}`);
    launch('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      `--client-ca-file=${join(dir, 'ca.crt')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.96.0.0/16',
      // Loopback may not be an Endpoints address: no `kubernetes` Service endpoints to keep.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=false',
      '--profiling=false',
      '--v=1',
    ]);
    api = new KubeApi(server, token, ca);
    const client = api;
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        const gone = exits.get('kube-apiserver');
        if (gone) throw new Error(gone);
        const response = await client.request('GET', '/readyz');
        return response.status === 200;
      },
      90_000,
    );
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, ca, token), { mode: 0o600 });

    if (options.controllerManager !== false) {
      log('kube-controller-manager');
      launch('kube-controller-manager', [
        `--kubeconfig=${kubeconfig}`,
        '--secure-port=0',
        '--leader-elect=false',
        `--service-account-private-key-file=${join(dir, 'sa.key')}`,
        `--root-ca-file=${join(dir, 'ca.crt')}`,
        '--use-service-account-credentials=false',
        // HPAs are evaluated every second, not every 15 s: the tests wait for their first decision.
        '--horizontal-pod-autoscaler-sync-period=1s',
        '--v=1',
      ]);
      // The service-account controller gives every namespace its `default` account once it runs.
      await waitFor(
        'kube-controller-manager (the default ServiceAccount)',
        async () => {
          const gone = exits.get('kube-controller-manager');
          if (gone) throw new Error(gone);
          return Boolean(await client.read('v1', 'ServiceAccount', 'default', 'default'));
        },
        90_000,
      );
    }
    const version = (await api.get<{ gitVersion: string }>('/version')).gitVersion;
    log(`Kubernetes ${version} ready`);
    return { version, server, kubeconfig, binDir, api, dir, groups, logTail: tail, stop };
  } catch (error) {
    const logs = ['etcd', 'kube-apiserver', 'kube-controller-manager']
      .filter((name) => children.has(name))
      .map((name) => `--- ${name}.log\n${tail(name, 15)}`)
      .join('\n');
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`);
  }
}

/** Creates a directory's CRD files (or a list of files) on the server and waits until each is Established. */
export async function installCrds(api: KubeApi, files: string[]): Promise<string[]> {
  const names: string[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = doc.toJS() as { kind?: string; metadata: { name: string } } | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      names.push(crd.metadata.name);
    }
  }
  for (const name of names) {
    await waitFor(`CRD ${name} Established`, async () => {
      const crd = await api.read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', name);
      return (crd?.status?.conditions as { type: string; status: string }[] | undefined)?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
    });
  }
  return names;
}

/** Deletes CRDs (and so every object of theirs) and waits until the server has forgotten them. */
export async function removeCrds(api: KubeApi, names: string[]): Promise<void> {
  const meta = (name: string) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name },
  });
  for (const name of names) await api.delete(meta(name));
  for (const name of names)
    await waitFor(
      `CRD ${name} gone`,
      async () => !(await api.read('apiextensions.k8s.io/v1', 'CustomResourceDefinition', name)),
    );
}
