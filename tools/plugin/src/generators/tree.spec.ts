import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { registeredContexts, stageRegistration } from '../lib/registration';
import { commandGenerator, commandRouteSegment, defaultEvent } from './command/generator';
import { contextGenerator } from './context/generator';
import { eventGenerator } from './event/generator';
import { contextNames } from '../lib/names';

// The generators on an in-memory tree holding the files they read (the lint config, the path
// map, the schemas, the registration points of the apps, the test databases and the deployment).
// The workspace copy spec runs them for real, with lint, typecheck and tests.
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

/** The files outside schemas/ that the context generator reads or edits. */
const REGISTRATION_FILES = [
  'eslint.config.mjs',
  'tsconfig.base.json',
  'libs/testing/src/database-cleanup.ts',
  'apps/command-service/src/contexts.ts',
  'apps/query-service/src/contexts.ts',
  'apps/projector/src/contexts.ts',
  'docker-compose.yml',
  'helm/cqrs/values.yaml',
];

function workspaceTree(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  for (const file of REGISTRATION_FILES) tree.write(file, readFileSync(join(root, file)));
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

    it('refuses a name an app uses for its own code, and changes nothing', async () => {
      const tree = workspaceTree();
      tree.write('apps/query-service/src/queries/index.ts', '');
      tree.write('apps/projector/src/queries.ts', '');
      const before = snapshot(tree);
      await expect(contextGenerator(tree, { name: 'queries' })).rejects.toThrow(
        'cannot create context "queries": apps/query-service/src/queries exists; apps/projector/src/queries.ts exists',
      );
      expect(snapshot(tree)).toEqual(before);
    });

    it('fails before writing anything when a registration point lacks its anchor', async () => {
      const tree = workspaceTree();
      const compose = tree.read('docker-compose.yml', 'utf-8') ?? '';
      tree.write('docker-compose.yml', compose.replace('ACLS: |', 'ACL_LIST: |'));
      const before = snapshot(tree);
      await expect(contextGenerator(tree, { name: 'invoices' })).rejects.toThrow(
        'docker-compose.yml: no `ACLS:` in the environment of service `topics`',
      );
      expect(snapshot(tree)).toEqual(before);
      tree.delete('apps/projector/src/contexts.ts');
      await expect(contextGenerator(tree, { name: 'invoices' })).rejects.toThrow(
        'apps/projector/src/contexts.ts: file not found',
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
      expect(tree.read('libs/invoices/read-model/src/lib/read-model.ts', 'utf-8')).toContain(
        "export const INVOICES_CHANGED_CHANNEL = 'invoices_changed';",
      );
      const migrations = tree.children('libs/invoices/read-model/src/lib/migrations');
      expect(migrations).toEqual([expect.stringMatching(/^\d{13}-create-invoices-read-model\.ts$/)]);

      const before = snapshot(tree);
      await expect(contextGenerator(tree, { name: 'invoices' })).rejects.toThrow(/cannot create context "invoices"/);
      expect(snapshot(tree)).toEqual(before);
      // registering again would change nothing either
      expect(stageRegistration(tree, contextNames('invoices')).changed).toEqual([]);
    });

    it("adds the read-model reader and int test, the apps' files and registrations, and the deployment's topics", async () => {
      const tree = workspaceTree();
      await contextGenerator(tree, { name: 'invoices' });
      const exists = (file: string) => ({ file, exists: tree.exists(file) });
      for (const file of [
        'libs/invoices/read-model/src/lib/invoice.reader.ts',
        'libs/invoices/read-model/src/lib/invoices-read-model.int.spec.ts',
        'apps/command-service/src/invoices/invoice-event.mapping.ts',
        'apps/command-service/src/invoices/invoice-event.encoder.ts',
        'apps/command-service/src/invoices/invoice-commands.ts',
        'apps/command-service/src/invoices/invoices.dto.ts',
        'apps/command-service/src/invoices/invoices.controller.ts',
        'apps/command-service/src/invoices/invoices.module.ts',
        'apps/command-service/src/invoices/invoices.context.ts',
        'apps/query-service/src/invoices/invoices.dto.ts',
        'apps/query-service/src/invoices/invoice-queries.ts',
        'apps/query-service/src/invoices/invoices.controller.ts',
        'apps/query-service/src/invoices/invoices.module.ts',
        'apps/query-service/src/invoices/invoices.context.ts',
        'apps/projector/src/invoices/invoices.context.ts',
      ]) {
        expect(exists(file)).toEqual({ file, exists: true });
      }
      expect(readJson(tree, 'libs/invoices/read-model/project.json').targets.int).toEqual({});
      expect(tree.read('libs/invoices/read-model/src/lib/invoices-read-model.int.spec.ts', 'utf-8')).toContain(
        "prefix: 'invoices_rm'",
      );
      expect(tree.read('libs/testing/src/database-cleanup.ts', 'utf-8')).toContain(
        "'invoices_rm', // libs/invoices/read-model/src/lib/invoices-read-model.int.spec.ts",
      );
      expect(tree.read('apps/command-service/src/invoices/invoice-commands.ts', 'utf-8')).toContain(
        "visible: (state, command) => state.status === 'none' || state.ownerId === command.metadata.actor,",
      );
      for (const [app, array] of [
        ['command-service', 'COMMAND_CONTEXTS'],
        ['query-service', 'QUERY_CONTEXTS'],
        ['projector', 'PROJECTOR_CONTEXTS'],
      ]) {
        const contexts = tree.read(`apps/${app}/src/contexts.ts`, 'utf-8') ?? '';
        expect(contexts).toContain("import { invoicesContext } from './invoices/invoices.context';");
        expect(contexts).toMatch(new RegExp(`${array}\\b[^=]*= \\[[^\\]]*\\binvoicesContext\\]`));
      }
      const compose = tree.read('docker-compose.yml', 'utf-8') ?? '';
      expect(compose).toMatch(/TOPICS: [^\n]*,invoices\.invoice\.events\n/);
      expect(compose).toMatch(/cqrs-projector prefixed --group invoices-projector +Read Describe Delete\n/);
      expect(tree.read('helm/cqrs/values.yaml', 'utf-8')).toContain(
        '      - invoices.invoice.events\n      - invoices.invoice.events.dlq\n',
      );
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
      expect(tree.read('apps/command-service/src/invoices/invoice-event.mapping.ts', 'utf-8')).toContain(
        "    case 'InvoiceArchived':\n      return { eventType: 'InvoiceArchived', value: { ...base, occurredAt: millis(event.data.occurredAt) } };\n    default:",
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
      expect(tree.read('apps/command-service/src/invoices/invoice-event.mapping.ts', 'utf-8')).toContain(
        "case 'InvoiceArchived':",
      );

      const before = snapshot(tree);
      await expect(commandGenerator(tree, { context: 'invoices', name: 'ArchiveInvoice' })).rejects.toThrow(
        'command ArchiveInvoice exists in InvoiceCommand',
      );
      expect(snapshot(tree)).toEqual(before);
    });

    it('adds the command to the command service: message class, handler and a body-less route', async () => {
      const tree = await withInvoices();
      await commandGenerator(tree, { context: 'invoices', name: 'ArchiveInvoice' });
      const commands = tree.read('apps/command-service/src/invoices/invoice-commands.ts', 'utf-8') ?? '';
      expect(commands).toContain('type ArchiveInvoice,');
      expect(commands).toContain(
        'export class ArchiveInvoiceCommand extends CommandMessage<ArchiveInvoice> {}\n\n' +
          '@CommandHandler(ArchiveInvoiceCommand)\n' +
          'export class ArchiveInvoiceHandler extends InvoiceCommandHandler<ArchiveInvoiceCommand> {}\n',
      );
      // declared before the list that names it: classes are not hoisted
      expect(commands.indexOf('class ArchiveInvoiceHandler')).toBeLessThan(
        commands.indexOf('INVOICE_COMMAND_HANDLERS ='),
      );
      expect(commands).toContain('= [CreateInvoiceHandler, ArchiveInvoiceHandler];');
      const controller = tree.read('apps/command-service/src/invoices/invoices.controller.ts', 'utf-8') ?? '';
      expect(controller).toContain("@Post(':id/archive')");
      expect(controller).toContain("route: 'POST /invoices/:id/archive',");
      expect(controller).toContain(
        "command: { type: 'ArchiveInvoice', data: { invoiceId: id }, metadata: commandMetadata(caller) },",
      );
      expect(controller).toMatch(/import \{[^}]*\bUuidParam\b[^}]*\} from '@cqrs\/http';/);
      expect(controller).toMatch(/import \{[^}]*\bApiOkResponse\b[^}]*\} from '@nestjs\/swagger';/);
      expect(controller).toMatch(/import \{[^}]*\bArchiveInvoiceCommand\b[^}]*\} from '\.\/invoice-commands';/);

      // another command with the same route: refused before anything is written
      const before = snapshot(tree);
      await expect(
        commandGenerator(tree, { context: 'invoices', name: 'InvoiceArchive', event: 'InvoiceArchived' }),
      ).rejects.toThrow('InvoicesController already has a method archive');
      expect(snapshot(tree)).toEqual(before);
    });

    it('leaves the apps alone for a context they do not host', async () => {
      const tree = await withInvoices();
      tree.delete('apps/command-service/src/invoices');
      await commandGenerator(tree, { context: 'invoices', name: 'ArchiveInvoice' });
      expect(tree.exists('apps/command-service/src/invoices')).toBe(false);
      tree.write('apps/command-service/src/invoices/invoices.context.ts', '');
      await expect(eventGenerator(tree, { context: 'invoices', name: 'InvoicePaid' })).rejects.toThrow(
        'apps/command-service/src/invoices lacks what the generators edit: apps/command-service/src/invoices/invoice-event.mapping.ts',
      );
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

    it.each([
      ['ArchiveInvoice', 'archive'],
      ['InvoiceRename', 'rename'],
      ['ChangeName', 'change-name'],
      ['AddLineToInvoice', 'add-line-to'],
    ])('routes %s to POST /invoices/:id/%s', (command, segment) => {
      expect(commandRouteSegment(contextNames('invoices'), command)).toBe(segment);
    });
  });
});
