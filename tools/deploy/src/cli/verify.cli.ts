/**
 * `npm run deploy:verify`: would `helm install` (or `helm upgrade`) of helm/cqrs with these values
 * succeed on this cluster? Asks the cluster's own API server, changing nothing (lib/verify.ts):
 * `helm upgrade --install --dry-run=server`, then a server-side dry run of every object, hooks included.
 *
 *   npm run deploy:verify -- -f my-values.yaml                      # the current kubeconfig context
 *   npm run deploy:verify -- --context prod -n cqrs -f my-values.yaml
 *   npm run deploy:verify -- --local -f my-values.yaml              # a throwaway local API server
 *
 * Without a kubeconfig ($KUBECONFIG, ~/.kube/config or --kubeconfig), or with --local, it starts
 * the local control plane of the deployment tests (tools/scripts/ensure-kube.sh builds it on first
 * use) with the Prometheus Operator's and Strimzi's CRDs and a namespace that enforces the
 * `restricted` Pod Security Standard, and checks there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCrds, ensureKube, installCrds, startControlPlane } from '../lib/control-plane';
import { ClusterTarget, formatReport, verifyRelease } from '../lib/verify';

const usage = `usage: npm run deploy:verify -- [--kubeconfig FILE] [--context NAME] [--local [--kube-version vX.Y.Z]]
                              [-n NAMESPACE] [--release NAME] [-f VALUES.yaml]... [--set-json PATH=JSON]...`;

function kubectlFor(local: boolean, binDir?: string): string {
  if (process.env['KUBECTL']) return process.env['KUBECTL'];
  if (binDir) return join(binDir, 'kubectl');
  if (!local) {
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
      return 'kubectl';
    } catch {
      // none on PATH: the one ensure-kube.sh builds
    }
  }
  return join(ensureKube(), 'kubectl');
}

async function main(): Promise<number> {
  const { values: args } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      local: { type: 'boolean', default: false },
      'kube-version': { type: 'string' },
      namespace: { type: 'string', short: 'n', default: 'cqrs' },
      release: { type: 'string', default: 'cqrs' },
      values: { type: 'string', short: 'f', multiple: true, default: [] },
      'set-json': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (args.help) {
    console.log(usage);
    return 0;
  }
  // npm runs scripts in the repo root: values files are taken relative to where the user stood.
  const cwd = process.env['INIT_CWD'] ?? process.cwd();
  const files = (args.values ?? []).map((file) => resolve(cwd, file));
  for (const file of files) if (!existsSync(file)) throw new Error(`no values file ${file}`);
  const set = Object.fromEntries(
    (args['set-json'] ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`--set-json wants PATH=JSON, not ${pair}`);
      try {
        return [pair.slice(0, at), JSON.parse(pair.slice(at + 1)) as unknown];
      } catch {
        throw new Error(`--set-json ${pair.slice(0, at)}: the value is not JSON (${pair.slice(at + 1)})`);
      }
    }),
  );
  const kubeconfig = args.kubeconfig ? resolve(cwd, args.kubeconfig) : undefined;
  const found =
    kubeconfig ?? process.env['KUBECONFIG'] ?? (existsSync(join(homedir(), '.kube/config')) ? 'found' : undefined);
  const local = args.local || !found;
  const namespace = args.namespace ?? 'cqrs';
  const release = args.release ?? 'cqrs';

  if (!local) {
    const target: ClusterTarget = { kubeconfig, context: args.context };
    console.error(`deploy:verify: the cluster of ${args.context ? `context ${args.context}` : 'the current context'}`);
    const report = verifyRelease({ target, kubectl: kubectlFor(false), release, namespace, files, set });
    console.log(formatReport(report));
    return report.ok ? 0 : 1;
  }

  console.error(
    `deploy:verify: ${args.local ? '' : 'no kubeconfig found: '}a local API server (tools/scripts/ensure-kube.sh)`,
  );
  const plane = await startControlPlane({ version: args['kube-version'], log: (line) => console.error(`  ${line}`) });
  try {
    const crds = ensureCrds();
    const crdFilesIn = (dir: string, match: RegExp) =>
      readdirSync(join(crds, dir))
        .filter((f) => match.test(f))
        .map((f) => join(crds, dir, f));
    await installCrds(plane.api, [
      ...crdFilesIn('prometheus-operator', /_(servicemonitors|prometheusrules)\.yaml$/),
      ...crdFilesIn('strimzi', /-Crd-(kafkatopic|kafkaconnector)\.yaml$/),
    ]);
    await plane.api.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    });
    const report = verifyRelease({
      target: { kubeconfig: plane.kubeconfig },
      kubectl: kubectlFor(true, plane.binDir),
      release,
      namespace,
      files,
      set,
    });
    console.log(
      `Kubernetes ${plane.version} (local), Prometheus Operator and Strimzi CRDs, namespace ${namespace} (restricted)`,
    );
    console.log(formatReport(report));
    return report.ok ? 0 : 1;
  } finally {
    await plane.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`deploy:verify: ${error instanceof Error ? error.message : String(error)}`);
    console.error(usage);
    process.exit(2);
  },
);
