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
    it.each(['Invoices', 'order_lines', 'shared', '9lives'])(
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
      await contextGenerator(tree, { name: 'invoices' });
      for (const file of [
        'libs/invoices/domain/project.json',
        'libs/invoices/domain/src/lib/invoice.decider.ts',
        'libs/invoices/domain/src/lib/invoice.decider.spec.ts',
        'libs/invoices/contracts/src/generated/index.ts',
        'libs/invoices/contracts/src/generated/invoice-created.v1.ts',
        'libs/invoices/contracts/src/generated.spec.ts',
        'libs/invoices/read-model/src/lib/invoice-view.projection.ts',
        'libs/invoices/read-model/src/lib/invoice-view.projection.spec.ts',
        'schemas/invoices/invoice/invoice-created.v1.avsc',
        'schemas/invoices/invoice/fixtures/invoice-created.v1.json',
      ]) {
        expect({ file, exists: tree.exists(file) }).toEqual({ file, exists: true });
      }
      expect(readJson(tree, 'libs/invoices/contracts/project.json').tags).toEqual([
        'scope:invoices',
        'type:util',
        'published:invoices',
      ]);
      expect(readJson(tree, 'libs/invoices/contracts/project.json').targets.codegen.options.command).toBe(
        'node tools/schemas/src/cli/codegen.mts --context invoices --out libs/invoices/contracts/src/generated',
      );
      expect(readJson(tree, 'schemas/manifest.json').schemas).toContainEqual({
        schema: 'invoices/invoice/invoice-created.v1.avsc',
        topic: 'invoices.invoice.events',
        subject: 'invoices.invoice.events-invoices.invoice.InvoiceCreated',
      });
      expect(readJson(tree, 'tsconfig.base.json').compilerOptions.paths['@cqrs/invoices-read-model']).toEqual([
        './libs/invoices/read-model/src/index.ts',
      ]);
      expect(registeredContexts(tree)).toEqual(['tasks', 'projects', 'invoices']);
      expect(tree.read('libs/invoices/contracts/src/generated/index.ts', 'utf-8')).toContain(
        'export const invoicesInvoiceEventsContracts = [',
      );
      const migrations = tree.children('libs/invoices/read-model/src/lib/migrations');
      expect(migrations).toEqual([expect.stringMatching(/^\d{13}-create-invoices-read-model\.ts$/)]);

      const before = snapshot(tree);
      await expect(contextGenerator(tree, { name: 'invoices' })).rejects.toThrow(/cannot create context "invoices"/);
      expect(snapshot(tree)).toEqual(before);
    });
  });

  describe('event and command', () => {
    async function withInvoices(): Promise<Tree> {
      const tree = workspaceTree();
      await contextGenerator(tree, { name: 'invoices' });
      return tree;
    }

    it('adds an event to the schemas, contracts, domain union, evolve and projection; refuses it twice', async () => {
      const tree = await withInvoices();
      await eventGenerator(tree, { context: 'invoices', name: 'InvoiceArchived' });
      expect(readJson(tree, 'schemas/manifest.json').schemas).toContainEqual({
        schema: 'invoices/invoice/invoice-archived.v1.avsc',
        topic: 'invoices.invoice.events',
        subject: 'invoices.invoice.events-invoices.invoice.InvoiceArchived',
      });
      expect(tree.exists('libs/invoices/contracts/src/generated/invoice-archived.v1.ts')).toBe(true);
      expect(tree.read('libs/invoices/domain/src/lib/invoice.events.ts', 'utf-8')).toContain(
        'export type InvoiceEvent = InvoiceCreated | InvoiceArchived;',
      );
      expect(tree.read('libs/invoices/domain/src/lib/invoice.state.ts', 'utf-8')).toContain("case 'InvoiceArchived':");
      expect(tree.read('libs/invoices/read-model/src/lib/invoice-view.projection.ts', 'utf-8')).toContain(
        "case 'InvoiceArchived': {",
      );
      expect(tree.read('libs/invoices/read-model/src/lib/invoice-view.projection.spec.ts', 'utf-8')).toContain(
        "describe('InvoiceArchived'",
      );

      const before = snapshot(tree);
      await expect(eventGenerator(tree, { context: 'invoices', name: 'InvoiceArchived' })).rejects.toThrow(
        'event InvoiceArchived exists',
      );
      expect(snapshot(tree)).toEqual(before);
    });

    it('adds a command with its decide branch, generating the event it records', async () => {
      const tree = await withInvoices();
      await commandGenerator(tree, { context: 'invoices', name: 'ArchiveInvoice' });
      const decider = tree.read('libs/invoices/domain/src/lib/invoice.decider.ts', 'utf-8');
      expect(decider).toContain("case 'ArchiveInvoice':\n      return archiveInvoice(command, state);");
      expect(decider).toContain("return [{ type: 'InvoiceArchived'");
      expect(tree.read('libs/invoices/domain/src/lib/invoice.commands.ts', 'utf-8')).toContain(
        'export type InvoiceCommand = CreateInvoice | ArchiveInvoice;',
      );
      expect(tree.read('libs/invoices/domain/src/lib/invoice.decider.spec.ts', 'utf-8')).toContain(
        "describe('ArchiveInvoice'",
      );
      expect(tree.exists('schemas/invoices/invoice/invoice-archived.v1.avsc')).toBe(true);

      const before = snapshot(tree);
      await expect(commandGenerator(tree, { context: 'invoices', name: 'ArchiveInvoice' })).rejects.toThrow(
        'command ArchiveInvoice exists in InvoiceCommand',
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
      ['ArchiveInvoice', 'InvoiceArchived'],
      ['InvoiceRename', 'InvoiceRenamed'],
      ['ChangeName', 'InvoiceNameChanged'],
      ['Copy', 'InvoiceCopied'],
    ])('names the event of %s %s by default', (command, event) => {
      expect(defaultEvent(contextNames('invoices'), command)).toBe(event);
    });
  });
});
