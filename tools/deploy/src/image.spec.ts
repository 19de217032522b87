import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCompose } from './lib/compose';
import {
  effective,
  environment,
  execForm,
  exposedPorts,
  healthcheckCommand,
  instruction,
  instructionsOf,
  loadDockerfile,
  parseDockerfile,
  stage,
  substitute,
} from './lib/dockerfile';
import { loadDockerignore } from './lib/dockerignore';
import { must } from './lib/must';
import { readRepoFile, repoRoot } from './lib/repo';

// The images can't be built here (no Docker engine): these check the Dockerfile for what the issue
// asks of them; image.e2e.spec.ts runs the app image's command on the same files the image holds.
describe('the Dockerfile', () => {
  const dockerfile = loadDockerfile();
  const app = stage(dockerfile);
  const appName = app.name;
  const args = (s: ReturnType<typeof stage>) =>
    instructionsOf(s, 'RUN')
      .map((i) => i.args)
      .join('\n');

  it('builds an app image by default: the last stage, on a Node 24 slim base', () => {
    expect(appName).toBe('app');
    const base = (name: string): string => {
      const s = dockerfile.stages.find((x) => x.name === name);
      return s ? base(s.base) : name.replace(/^\$\{(\w+)\}$/, (_m, arg: string) => dockerfile.globalArgs[arg] ?? '');
    };
    expect(base(app.base)).toMatch(/^node:24([.\d]*)?(-[a-z]+)?-slim(@sha256:[a-f0-9]{64})?$/);
  });

  it('builds one app with Nx (the APP build argument) and refuses an unknown one', () => {
    const build = stage(dockerfile, 'build');
    expect(args(build)).toMatch(/nx run "\$\{APP\}:build"/);
    expect(args(build)).not.toMatch(/run-many/);
    for (const app of ['command-service', 'query-service', 'projector', 'outbox-relay']) {
      expect(args(build)).toContain(app);
      expect(existsSync(join(repoRoot(), 'apps', app, 'project.json'))).toBe(true);
    }
  });

  it('ships production dependencies only: node_modules comes from an `npm install --omit=dev` stage', () => {
    const copies = instructionsOf(app, 'COPY').map((i) => i.args);
    const modules = copies.filter((c) => c.includes('node_modules'));
    expect(modules).toEqual(['--from=prod-deps /app/node_modules ./node_modules']);
    // The other copy into the app image is the laid-out build output, which holds no node_modules.
    expect(copies.filter((c) => !c.includes('node_modules'))).toEqual(['--from=build /out/app ./']);
    expect(args(stage(dockerfile, 'prod-deps'))).toMatch(/app-layout\.sh deps/);
    expect(readRepoFile('tools/deploy/image/app-layout.sh')).toMatch(/npm install --omit=dev/);
    // The full workspace (dev dependencies included) is never a layer of the app image or of
    // the stage its node_modules come from: both start from the bare Node image.
    const layers = (name: string): string[] => {
      const s = dockerfile.stages.find((x) => x.name === name);
      return s ? [name, ...layers(s.base)] : [];
    };
    expect(layers('app')).not.toContain('workspace');
    expect(layers('prod-deps')).not.toContain('workspace');
  });

  it('runs as a non-root user, by number (so Kubernetes can verify runAsNonRoot)', () => {
    const user = effective(dockerfile, app, 'USER')?.args;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(String(user).split(':')[0])).toBeGreaterThan(0);
    const migrations = effective(dockerfile, stage(dockerfile, 'migrations'), 'USER')?.args;
    expect(Number(migrations?.split(':')[0])).toBeGreaterThan(0);
  });

  it('runs `node --import ./instrumentation.js main.js` under tini, in exec form', () => {
    expect(execForm(instruction(dockerfile, app, 'ENTRYPOINT'), 'ENTRYPOINT')).toEqual(['/usr/bin/tini', '--']);
    const cmd = execForm(instruction(dockerfile, app, 'CMD'), 'CMD');
    expect(cmd[0]).toBe('node');
    expect(cmd.at(-1)).toBe('main.js');
    expect(cmd.slice(1, -1).join(' ')).toContain('--import ./instrumentation.js');
    // The image always has an instrumentation.js: the app's own or the no-op placeholder.
    expect(readRepoFile('tools/deploy/image/app-layout.sh')).toContain('instrumentation.noop.js');
    expect(existsSync(join(repoRoot(), 'tools/deploy/image/instrumentation.noop.js'))).toBe(true);
  });

  it('has a HEALTHCHECK that runs the health script it ships, with node (no curl in a slim image)', () => {
    expect(healthcheckCommand(dockerfile, app)).toEqual(['node', 'healthcheck.mjs']);
    expect(readRepoFile('tools/deploy/image/app-layout.sh')).toMatch(/healthcheck\.mjs/);
  });

  it('sets NODE_ENV=production and PORT from its build argument, and refuses a build without one', () => {
    expect(environment(dockerfile, app, { PORT: '3001' })).toMatchObject({ NODE_ENV: 'production', PORT: '3001' });
    expect(args(app)).toMatch(/test -n "\$\{PORT\}"/);
  });

  // As docker-compose.yml builds them: the API apps with a management port, the others without.
  const builds = Object.fromEntries(
    Object.entries(loadCompose().services)
      .filter(([, s]) => s.build?.args?.['APP'])
      .map(([name, s]) => [name, s.build?.args ?? {}]),
  );

  it.each(['command-service', 'query-service', 'projector', 'outbox-relay'])(
    '%s: MANAGEMENT_PORT (health, metrics, docs) from its build argument, exposed with PORT',
    (name) => {
      const buildArgs = builds[name] ?? {};
      const env = environment(dockerfile, app, buildArgs);
      expect(env['PORT']).toBe(buildArgs['PORT']);
      expect(env['MANAGEMENT_PORT']).toBe(buildArgs['MANAGEMENT_PORT'] ?? '');
      expect(exposedPorts(dockerfile, app, buildArgs)).toEqual(
        [buildArgs['PORT'], buildArgs['MANAGEMENT_PORT']].filter(Boolean).map(Number),
      );
    },
  );

  it('refuses to build an API app without MANAGEMENT_PORT, or another app with one', () => {
    const check = must(
      instructionsOf(app, 'RUN').find((i) => i.args.includes('MANAGEMENT_PORT')),
      'a RUN checking MANAGEMENT_PORT',
    ).args;
    // The RUN line as the build's /bin/sh runs it, with the build arguments in its environment.
    const build = (buildArgs: Record<string, string>) =>
      spawnSync('sh', ['-c', check], { env: { PATH: process.env['PATH'], ...buildArgs }, encoding: 'utf8' });
    expect(build({ APP: 'command-service', PORT: '3000', MANAGEMENT_PORT: '9000' }).status).toBe(0);
    expect(build({ APP: 'projector', PORT: '3002' }).status).toBe(0);
    const missing = build({ APP: 'query-service', PORT: '3001' });
    expect([missing.status, missing.stderr]).toEqual([1, expect.stringContaining('--build-arg MANAGEMENT_PORT=')]);
    const extra = build({ APP: 'outbox-relay', PORT: '3003', MANAGEMENT_PORT: '9003' });
    expect([extra.status, extra.stderr]).toEqual([1, expect.stringContaining('outbox-relay has no management port')]);
  });

  it('the migrations image runs the one-shot job script with `all` by default', () => {
    const migrations = stage(dockerfile, 'migrations');
    expect(execForm(instruction(dockerfile, migrations, 'ENTRYPOINT'), 'ENTRYPOINT')).toEqual([
      'sh',
      'tools/deploy/image/migrations.sh',
    ]);
    expect(execForm(instruction(dockerfile, migrations, 'CMD'), 'CMD')).toEqual(['all']);
  });

  it('every npm script the migrations job runs exists in package.json', () => {
    const scripts = Object.keys(
      (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts,
    );
    const used = [...readRepoFile('tools/deploy/image/migrations.sh').matchAll(/^\s*run ([\w:-]+)/gm)].map(
      (m) => m[1] ?? '',
    );
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !scripts.includes(name))).toEqual([]);
  });
});

describe("Docker's variable substitution (lib/dockerfile.ts)", () => {
  it.each([
    ['${A}', { A: '1' }, '1'],
    ['$A/x', { A: '1' }, '1/x'],
    ['${A:-${B}}', { B: '2' }, '2'],
    ['${A:-${B}}', { A: '1', B: '2' }, '1'],
    ['${A:-${B}}', { A: '', B: '2' }, '2'],
    ['${A:+x}', { A: '1' }, 'x'],
    ['${A:+x}', {}, ''],
    ['\\$A', { A: '1' }, '$A'],
  ] as [string, Record<string, string>, string][])('%s with %j is %j', (text, vars, expected) => {
    expect(substitute(text, vars)).toBe(expected);
  });

  it('takes an ENV of the same name over the ARG, and EXPOSEs each port once', () => {
    const parsed = parseDockerfile('FROM x AS a\nARG P=1\nENV P=2\nENV Q=${P}\nEXPOSE ${P} ${Q} ${R:-${P}}\n');
    expect(environment(parsed, stage(parsed, 'a'))).toEqual({ P: '2', Q: '2' });
    expect(exposedPorts(parsed, stage(parsed, 'a'))).toEqual([2]);
  });
});

describe('.dockerignore', () => {
  const excluded = loadDockerignore();

  it('keeps dependencies, build output, state and VCS data out of the build context', () => {
    for (const path of [
      'node_modules',
      'libs/shared/http/node_modules/x',
      'dist/apps/projector/main.js',
      '.git/HEAD',
      '.nx/cache/x',
      '.local-stack/env',
    ]) {
      expect([path, excluded(path)]).toEqual([path, true]);
    }
  });

  it('keeps everything the images build from', () => {
    const copied = readFileSync(join(repoRoot(), 'Dockerfile'), 'utf8');
    expect(copied).toContain('COPY . .');
    const needed = [
      'package.json',
      'package-lock.json',
      'nx.json',
      'tsconfig.base.json',
      'apps/projector/src/main.ts',
      'apps/projector/webpack.config.js',
      'libs/shared/config/src/index.ts',
      'schemas/tasks/task/task-created.v1.avsc',
      'connect/outbox-connector.json',
      'connect/register.mts',
      'tools/deploy/image/app-layout.sh',
      'tools/deploy/image/healthcheck.mjs',
      'tools/deploy/image/migrations.sh',
      'tools/schemas/src/cli/register.mts',
      'libs/shared/event-store/src/cli/migrate.cli.ts',
      'apps/projector/src/cli/migrate-read.cli.ts',
      'tools/webpack/app.webpack.config.js',
      'libs/shared/observability/src/instrumentation.ts',
    ];
    expect(needed.filter(excluded)).toEqual([]);
  });
});
