import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { registeredContexts } from '../lib/registration';
import { commandGenerator, defaultEvent } from './command/generator';
import { contextGenerator } from './context/generator';
import { eventGenerator } from './event/generator';
import { contextNames } from '../lib/names';

// The generators on an in-memory tree holding the files they read (the lint config, the path
// map, the schemas). The workspace copy spec runs them for real, with lint, typecheck and tests.
const root = join(__dirname, '..', '..', '..', '..');
// Prettier cannot load its plugins inside Jest's VM; the workspace copy spec checks the formatting.
process.env.NX_SKIP_FORMAT = 'true';

function copyIn(tree: Tree, dir: string): void {
  for (const name of readdirSync(join(root, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) copyIn(tree, path);
    else tree.write(path, readFileSync(join(root, path)));
  }
}

function workspaceTree(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  for (const file of ['eslint.config.mjs', 'tsconfig.base.json']) tree.write(file, readFileSync(join(root, file)));
  copyIn(tree, 'schemas');
  return tree;
}

/** Every file of the tree and its content, to tell whether a failed run changed anything. */
function snapshot(tree: Tree, dir = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of tree.children(dir)) {
    const path = dir ? `${dir}/${name}` : name;
    if (tree.isFile(path)) files[path] = tree.read(path, 'utf-8') ?? '';
    else Object.assign(files, snapshot(tree, path));
  }
  return files;
}

describe('generators (on a tree)', () => {
  jest.setTimeout(60_000);

  describe('context', () => {
    it.each(['Projects', 'order_lines', 'shared', '9lives'])(
      'refuses the name %j and changes nothing',
      async (name) => {
        const tree = workspaceTree();
        const before = snapshot(tree);
        await expect(contextGenerator(tree, { name })).rejects.toThrow(/context name|cannot name a context/);
        expect(snapshot(tree)).toEqual(before);
      },
    );

    it('refuses a context that exists (tasks)', async () => {
      const tree = workspaceTree();
      tree.write('libs/tasks/domain/project.json', '{}');
      await expect(contextGenerator(tree, { name: 'tasks' })).rejects.toThrow(
        'cannot create context "tasks": libs/tasks exists; schemas/tasks exists; eslint.config.mjs already lists it',
      );
    });

    it('creates the three libs, the first event, the contracts and the registration; a second run changes nothing', async () => {
      const tree = workspaceTree();
      await contextGenerator(tree, { name: 'projects' });
      for (const file of [
        'libs/projects/domain/project.json',
        'libs/projects/domain/src/lib/project.decider.ts',
        'libs/projects/domain/src/lib/project.decider.spec.ts',
        'libs/projects/contracts/src/generated/index.ts',
        'libs/projects/contracts/src/generated/project-created.v1.ts',
        'libs/projects/contracts/src/generated.spec.ts',
        'libs/projects/read-model/src/lib/project-view.projection.ts',
        'libs/projects/read-model/src/lib/project-view.projection.spec.ts',
        'schemas/projects/project/project-created.v1.avsc',
        'schemas/projects/project/fixtures/project-created.v1.json',
      ]) {
        expect({ file, exists: tree.exists(file) }).toEqual({ file, exists: true });
      }
      expect(readJson(tree, 'libs/projects/contracts/project.json').tags).toEqual([
        'scope:projects',
        'type:util',
        'published:projects',
      ]);
      expect(readJson(tree, 'libs/projects/contracts/project.json').targets.codegen.options.command).toBe(
        'node tools/schemas/src/cli/codegen.mts --context projects --out libs/projects/contracts/src/generated',
      );
      expect(readJson(tree, 'schemas/manifest.json').schemas).toContainEqual({
        schema: 'projects/project/project-created.v1.avsc',
        topic: 'projects.project.events',
        subject: 'projects.project.events-projects.project.ProjectCreated',
      });
      expect(readJson(tree, 'tsconfig.base.json').compilerOptions.paths['@cqrs/projects-read-model']).toEqual([
        './libs/projects/read-model/src/index.ts',
      ]);
      expect(registeredContexts(tree)).toEqual(['tasks', 'projects']);
      expect(tree.read('libs/projects/contracts/src/generated/index.ts', 'utf-8')).toContain(
        'export const projectsProjectEventsContracts = [',
      );
      const migrations = tree.children('libs/projects/read-model/src/lib/migrations');
      expect(migrations).toEqual([expect.stringMatching(/^\d{13}-create-projects-read-model\.ts$/)]);

      const before = snapshot(tree);
      await expect(contextGenerator(tree, { name: 'projects' })).rejects.toThrow(/cannot create context "projects"/);
      expect(snapshot(tree)).toEqual(before);
    });
  });

  describe('event and command', () => {
    async function withProjects(): Promise<Tree> {
      const tree = workspaceTree();
      await contextGenerator(tree, { name: 'projects' });
      return tree;
    }

    it('adds an event to the schemas, contracts, domain union, evolve and projection; refuses it twice', async () => {
      const tree = await withProjects();
      await eventGenerator(tree, { context: 'projects', name: 'ProjectArchived' });
      expect(readJson(tree, 'schemas/manifest.json').schemas).toContainEqual({
        schema: 'projects/project/project-archived.v1.avsc',
        topic: 'projects.project.events',
        subject: 'projects.project.events-projects.project.ProjectArchived',
      });
      expect(tree.exists('libs/projects/contracts/src/generated/project-archived.v1.ts')).toBe(true);
      expect(tree.read('libs/projects/domain/src/lib/project.events.ts', 'utf-8')).toContain(
        'export type ProjectEvent = ProjectCreated | ProjectArchived;',
      );
      expect(tree.read('libs/projects/domain/src/lib/project.state.ts', 'utf-8')).toContain("case 'ProjectArchived':");
      expect(tree.read('libs/projects/read-model/src/lib/project-view.projection.ts', 'utf-8')).toContain(
        "case 'ProjectArchived': {",
      );
      expect(tree.read('libs/projects/read-model/src/lib/project-view.projection.spec.ts', 'utf-8')).toContain(
        "describe('ProjectArchived'",
      );

      const before = snapshot(tree);
      await expect(eventGenerator(tree, { context: 'projects', name: 'ProjectArchived' })).rejects.toThrow(
        'event ProjectArchived exists',
      );
      expect(snapshot(tree)).toEqual(before);
    });

    it('adds a command with its decide branch, generating the event it records', async () => {
      const tree = await withProjects();
      await commandGenerator(tree, { context: 'projects', name: 'ArchiveProject' });
      const decider = tree.read('libs/projects/domain/src/lib/project.decider.ts', 'utf-8');
      expect(decider).toContain("case 'ArchiveProject':\n      return archiveProject(command, state);");
      expect(decider).toContain("return [{ type: 'ProjectArchived'");
      expect(tree.read('libs/projects/domain/src/lib/project.commands.ts', 'utf-8')).toContain(
        'export type ProjectCommand = CreateProject | ArchiveProject;',
      );
      expect(tree.read('libs/projects/domain/src/lib/project.decider.spec.ts', 'utf-8')).toContain(
        "describe('ArchiveProject'",
      );
      expect(tree.exists('schemas/projects/project/project-archived.v1.avsc')).toBe(true);

      const before = snapshot(tree);
      await expect(commandGenerator(tree, { context: 'projects', name: 'ArchiveProject' })).rejects.toThrow(
        'command ArchiveProject exists in ProjectCommand',
      );
      expect(snapshot(tree)).toEqual(before);
    });

    it('refuses a context it did not make', async () => {
      const tree = workspaceTree();
      await expect(eventGenerator(tree, { context: 'nothing', name: 'NothingHappened' })).rejects.toThrow(
        'no context "nothing"',
      );
    });

    it.each([
      ['ArchiveProject', 'ProjectArchived'],
      ['ProjectRename', 'ProjectRenamed'],
      ['ChangeName', 'ProjectNameChanged'],
      ['Copy', 'ProjectCopied'],
    ])('names the event of %s %s by default', (command, event) => {
      expect(defaultEvent(contextNames('projects'), command)).toBe(event);
    });
  });
});
