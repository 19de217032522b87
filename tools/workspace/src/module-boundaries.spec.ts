import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// Proves the lint gate is real: each probe is linted as if it were a file inside a project, and
// the boundary rules must reject exactly the imports the layering forbids (eslint.config.mjs). ESLint runs as
// its own process, as `nx lint` runs it (its flat config is ESM, which Jest cannot load in-process).
// Probes go through boundary-probe.eslint.config.mjs, which can override projects' tags, so that a
// probe can ask what the rules do with a second context or with a lib of another type.
const root = join(__dirname, '../../..');
const probeConfig = join(__dirname, 'boundary-probe.eslint.config.mjs');

/** The type tags, by what they may touch. A new type tag must be added here (a test below fails until it is). */
const PURE_TYPES = ['type:domain', 'type:util'];
const INFRASTRUCTURE_TYPES = ['type:data-access', 'type:messaging', 'type:http', 'type:observability'];
const OTHER_TYPES = ['type:app', 'type:e2e', 'type:testing'];

/** A package for each entry of the banned list of pure code (eslint.config.mjs); avsc, banned in domain code only, has its own test. */
const FRAMEWORK_PACKAGES = [
  '@nestjs/common',
  '@nestjs/cqrs',
  'express',
  'typeorm',
  'pg',
  'pg-logical-replication',
  'kafkajs',
  '@kafkajs/confluent-schema-registry',
  '@opentelemetry/api',
  'prom-client',
  'pino',
  'pino-http',
  'nestjs-pino',
  'testcontainers',
];

/** A hypothetical second bounded context. */
const OTHER_CONTEXT = 'scope:invoices';
const COMPOSING_APPS = ['command-service', 'query-service', 'projector', 'system-e2e'];

interface Project {
  name: string;
  root: string;
  tags: string[];
  /** its main import path, if it has one */
  alias?: string;
}

function findProjects(dir: string, depth: number): Project[] {
  const file = join(dir, 'project.json');
  if (existsSync(file)) {
    const { name, tags } = JSON.parse(readFileSync(file, 'utf8')) as { name: string; tags?: string[] };
    return [{ name, root: relative(root, dir), tags: tags ?? [] }];
  }
  if (depth === 0) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules')
    .flatMap((entry) => findProjects(join(dir, entry.name), depth - 1));
}

const paths = (
  JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  }
).compilerOptions.paths;
const projects: Project[] = ['apps', 'libs', 'tools'].flatMap((dir) =>
  findProjects(join(root, dir), 2).map((p) => ({
    ...p,
    alias: Object.keys(paths)
      .filter((alias) => paths[alias].some((target) => target.startsWith(`./${p.root}/src/`)))
      .sort((a, b) => a.length - b.length)[0],
  })),
);
const project = (name: string): Project => {
  const found = projects.find((p) => p.name === name);
  if (!found) throw new Error(`no project ${name}`);
  return found;
};
const libsTagged = (...tags: string[]): Project[] =>
  projects.filter((p) => p.alias && tags.every((tag) => p.tags.includes(tag)));

interface Problem {
  line: number;
  text: string;
}

/** Lints `code` as if it were `file`; `tags` overrides projects' tags for this run. */
function lint(
  file: string,
  code: string,
  tags: Record<string, string[]> = {},
  config = probeConfig,
): Promise<Problem[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(root, 'node_modules/.bin/eslint'),
      ['--config', config, '--format', 'json', '--stdin', '--stdin-filename', join(root, file)],
      { cwd: root, env: { ...process.env, PROBE_TAGS: JSON.stringify(tags) } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      // exit 1 means "problems found"; anything else without JSON is a broken setup
      if (status !== 0 && status !== 1) return reject(new Error(`eslint exited ${status}: ${stderr}`));
      const [result] = JSON.parse(stdout) as { messages: { line: number; ruleId: string; message: string }[] }[];
      resolve((result?.messages ?? []).map((m) => ({ line: m.line, text: `${m.ruleId}: ${m.message}` })));
    });
    child.stdin.end(code);
  });
}

/** A probe importing each of `modules`, one per line (line i + 1 imports modules[i]). */
const importing = (modules: string[]): string =>
  modules.map((m, i) => `import * as m${i} from '${m}';\n`).join('') +
  `export const all = [${modules.map((_, i) => `m${i}`).join(', ')}];\n`;

/** The problem reported for each import of `importing(modules)`. */
const problemsByImport = (modules: string[], problems: Problem[]): Record<string, string> =>
  Object.fromEntries(
    modules.map((m, i) => [
      m,
      problems
        .filter((p) => p.line === i + 1)
        .map((p) => p.text)
        .join('\n'),
    ]),
  );

const onlyRule = (tag: string, allowed: string[]) =>
  `@nx/enforce-module-boundaries: A project tagged with "${tag}" can only depend on libs tagged with ${allowed.map((t) => `"${t}"`).join(', ')}`;

describe('module boundaries', () => {
  jest.setTimeout(120_000);

  describe('tags', () => {
    it('finds the projects', () => {
      expect(projects.map((p) => p.name)).toEqual(expect.arrayContaining([...COMPOSING_APPS, 'outbox-relay']));
    });

    it('gives every project one scope tag and one known type tag', () => {
      const known = [...PURE_TYPES, ...INFRASTRUCTURE_TYPES, ...OTHER_TYPES];
      const published = (t: string) => t.startsWith('published:');
      for (const p of projects) {
        expect({ project: p.name, scopes: p.tags.filter((t) => t.startsWith('scope:')).length }).toEqual({
          project: p.name,
          scopes: 1,
        });
        expect({ project: p.name, types: p.tags.filter((t) => known.includes(t)).length }).toEqual({
          project: p.name,
          types: 1,
        });
        expect({
          project: p.name,
          others: p.tags.filter((t) => !t.startsWith('scope:') && !known.includes(t) && !published(t)),
        }).toEqual({ project: p.name, others: [] });
      }
    });

    it("tags a context's contracts lib, and nothing else, published:<context>", () => {
      const publishing = projects.filter((p) => p.tags.some((t) => t.startsWith('published:')));
      expect(publishing.map((p) => p.name)).toContain('tasks-contracts');
      for (const p of publishing) {
        const context = p.tags.find((t) => t.startsWith('scope:'))?.slice('scope:'.length);
        expect({ project: p.name, tags: p.tags }).toEqual({
          project: `${context}-contracts`,
          tags: [`scope:${context}`, 'type:util', `published:${context}`],
        });
      }
    });

    it('puts the composing apps in scope:app and the relay in scope:shared', () => {
      expect(COMPOSING_APPS.map((name) => project(name).tags.find((t) => t.startsWith('scope:')))).toEqual(
        COMPOSING_APPS.map(() => 'scope:app'),
      );
      expect(project('outbox-relay').tags).toContain('scope:shared');
    });
  });

  describe('pure code', () => {
    it.each([
      ['domain', 'libs/tasks/domain/src/probe.ts', 'type:domain'],
      ['util', 'libs/shared/util/src/probe.ts', 'type:util'],
    ])('rejects every framework package in a %s lib', async (_, file, tag) => {
      const problems = problemsByImport(FRAMEWORK_PACKAGES, await lint(file, importing(FRAMEWORK_PACKAGES)));
      for (const pkg of FRAMEWORK_PACKAGES) {
        expect({ pkg, problem: problems[pkg] }).toEqual({
          pkg,
          problem: `@nx/enforce-module-boundaries: A project tagged with "${tag}" is not allowed to import "${pkg}"`,
        });
      }
    });

    it('rejects the Avro codec in a domain lib, and allows it to util (the contracts are checked with it)', async () => {
      expect(await lint('libs/tasks/domain/src/probe.ts', importing(['avsc']))).toEqual([
        {
          line: 1,
          text: '@nx/enforce-module-boundaries: A project tagged with "type:domain" is not allowed to import "avsc"',
        },
      ]);
      expect(await lint('libs/tasks/contracts/src/probe.ts', importing(['avsc']))).toEqual([]);
    });

    it('accepts a domain lib using a util lib (the control for the next test)', async () => {
      expect(await lint('libs/tasks/domain/src/probe.ts', importing(['@cqrs/util']))).toEqual([]);
    });

    it.each(INFRASTRUCTURE_TYPES)('rejects a lib tagged %s in a domain lib, whichever lib it is', async (tag) => {
      // the same import as the control above; only the tag of the imported lib differs
      const problems = await lint('libs/tasks/domain/src/probe.ts', importing(['@cqrs/util']), {
        util: ['scope:shared', tag],
      });
      expect(problems).toEqual([{ line: 1, text: onlyRule('type:domain', ['type:domain', 'type:util']) }]);
    });

    it('rejects every shared infrastructure lib in a domain lib and in a util lib (the contracts)', async () => {
      const libs = INFRASTRUCTURE_TYPES.map((tag) => libsTagged('scope:shared', tag));
      expect(libs.map((l) => l.length > 0)).toEqual(INFRASTRUCTURE_TYPES.map(() => true));
      const aliases = libs.flat().map((l) => l.alias as string);
      for (const [file, tag, allowed] of [
        ['libs/tasks/domain/src/probe.ts', 'type:domain', ['type:domain', 'type:util']],
        ['libs/tasks/contracts/src/probe.ts', 'type:util', ['type:util']],
      ] as const) {
        const problems = problemsByImport(aliases, await lint(file, importing(aliases)));
        for (const alias of aliases) {
          expect({ alias, problem: problems[alias] }).toEqual({ alias, problem: onlyRule(tag, [...allowed]) });
        }
      }
    });
  });

  describe('scopes', () => {
    it('accepts a context lib using its own context (the control for the next test)', async () => {
      expect(await lint('libs/tasks/read-model/src/probe.ts', importing(['@cqrs/tasks-domain']))).toEqual([]);
    });

    it("rejects a context lib importing another context's lib", async () => {
      const problems = await lint('libs/tasks/read-model/src/probe.ts', importing(['@cqrs/tasks-domain']), {
        'tasks-domain': [OTHER_CONTEXT, 'type:domain'],
      });
      expect(problems).toEqual([
        { line: 1, text: onlyRule('scope:tasks', ['scope:tasks', 'scope:shared', 'published:*']) },
      ]);
    });

    it("lets a context lib consume another context's published contracts, never its domain", async () => {
      // tasks-contracts and tasks-domain stand in for a second context's libs
      const modules = ['@cqrs/tasks-contracts', '@cqrs/tasks-domain'];
      const problems = await lint('libs/tasks/read-model/src/probe.ts', importing(modules), {
        'tasks-contracts': [OTHER_CONTEXT, 'type:util', 'published:projects'],
        'tasks-domain': [OTHER_CONTEXT, 'type:domain'],
      });
      expect(problems).toEqual([
        { line: 2, text: onlyRule('scope:tasks', ['scope:tasks', 'scope:shared', 'published:*']) },
      ]);
    });

    it("rejects another context's published contracts in shared code", async () => {
      const problems = await lint('libs/shared/config/src/probe.ts', importing(['@cqrs/tasks-contracts']), {
        'tasks-contracts': [OTHER_CONTEXT, 'type:util', 'published:projects'],
      });
      expect(problems).toEqual([{ line: 1, text: onlyRule('scope:shared', ['scope:shared']) }]);
    });

    it("rejects a new context's lib importing another context, even before the new context has its rule", async () => {
      const problems = await lint('libs/tasks/read-model/src/probe.ts', importing(['@cqrs/tasks-domain']), {
        'tasks-read-model': [OTHER_CONTEXT, 'type:data-access'],
      });
      expect(problems).toEqual([
        {
          line: 1,
          text: expect.stringMatching(
            /A project tagged with "\/\^scope:.*" can only depend on libs tagged with "scope:shared"$/,
          ),
        },
      ]);
    });

    it('rejects shared code depending on a bounded context', async () => {
      const problems = await lint('libs/shared/config/src/probe.ts', importing(['@cqrs/tasks-domain']));
      expect(problems).toEqual([{ line: 1, text: onlyRule('scope:shared', ['scope:shared']) }]);
    });

    it('rejects every context lib in the outbox relay', async () => {
      const aliases = libsTagged('scope:tasks').map((l) => l.alias as string);
      expect(aliases.length).toBeGreaterThan(0);
      const problems = problemsByImport(aliases, await lint('apps/outbox-relay/src/probe.ts', importing(aliases)));
      for (const alias of aliases) {
        expect({ alias, problem: problems[alias] }).toEqual({
          alias,
          problem: onlyRule('scope:shared', ['scope:shared']),
        });
      }
    });

    it.each(COMPOSING_APPS)('lets %s compose two contexts and shared libs', async (app) => {
      const problems = await lint(
        `${project(app).root}/src/probe.ts`,
        importing(['@cqrs/tasks-read-model', '@cqrs/tasks-domain', '@cqrs/messaging', '@cqrs/util']),
        { 'tasks-domain': [OTHER_CONTEXT, 'type:domain'] },
      );
      expect(problems).toEqual([]);
    });
  });

  describe('other rules', () => {
    it('rejects console output in app code', async () => {
      const problems = await lint('apps/command-service/src/probe.ts', "console.log('hi');\n");
      expect(problems).toEqual([{ line: 1, text: 'no-console: Unexpected console statement.' }]);
    });

    // Typed linting needs the file in a tsconfig: these probes take the place of existing files.
    it.each([
      'libs/tasks/domain/src/index.ts',
      'tools/schemas/src/codegen.mts',
      'tools/workspace/src/module-boundaries.spec.ts',
    ])('rejects a floating and a misused promise in %s', async (file) => {
      const code = 'async function f(): Promise<void> {}\nf();\nexport const x = [1].forEach(f);\n';
      const rules = (await lint(file, code, {}, join(root, 'eslint.config.mjs'))).map(
        (p) => `${p.line} ${p.text.split(':')[0]}`,
      );
      expect(rules).toEqual(
        expect.arrayContaining([
          '2 @typescript-eslint/no-floating-promises',
          '3 @typescript-eslint/no-misused-promises',
        ]),
      );
    });
  });
});
