import {
  addArrayElement,
  addClassMember,
  addNamedImport,
  addUnionMember,
  classMemberNames,
  insertBeforeDeclaration,
  insertBeforeTypeAlias,
  insertCaseBeforeDefault,
  stringArrayElements,
  topLevelDeclarations,
} from './source-edit';

describe('source edits', () => {
  describe('array literals (the registration points)', () => {
    const eslint = "/** The contexts. */\nconst contexts = ['tasks'];\nexport default [];\n";
    // the shape of apps/*/src/contexts.ts
    const app =
      "import { tasksContext } from './tasks/tasks.context';\n\n" +
      'export const COMMAND_CONTEXTS: readonly CommandSideContext[] = [tasksContext];\n';

    it('appends an element, once', () => {
      const once = addArrayElement('eslint.config.mjs', eslint, 'contexts', "'projects'");
      expect(once).toContain("const contexts = ['tasks', 'projects'];");
      expect(addArrayElement('eslint.config.mjs', once, 'contexts', "'projects'")).toBe(once);
      expect(stringArrayElements('eslint.config.mjs', once, 'contexts')).toEqual(['tasks', 'projects']);
    });

    it('edits a typed array of identifiers, and an empty one', () => {
      expect(addArrayElement('contexts.ts', app, 'COMMAND_CONTEXTS', 'projectsContext')).toContain(
        '= [tasksContext, projectsContext];',
      );
      expect(addArrayElement('a.ts', 'const xs: string[] = [];\n', 'xs', "'a'")).toBe("const xs: string[] = ['a'];\n");
    });

    it('puts an element with a comment on a line of its own, after the last one and its comment', () => {
      // the shape of TEST_DATABASE_PREFIXES in libs/testing/src/database-cleanup.ts
      const prefixes = "export const P = [\n  // helper\n  'a',\n  'b', // b.spec.ts\n] as const;\n";
      const once = addArrayElement('d.ts', prefixes, 'P', "'c'", 'c.spec.ts');
      expect(once).toBe(
        "export const P = [\n  // helper\n  'a',\n  'b', // b.spec.ts\n  'c', // c.spec.ts\n] as const;\n",
      );
      expect(addArrayElement('d.ts', once, 'P', "'c'", 'c.spec.ts')).toBe(once);
      expect(addArrayElement('d.ts', "const P = ['a'];\n", 'P', "'c'", 'c')).toBe("const P = ['a',\n'c', // c\n];\n");
      expect(addArrayElement('d.ts', "const P = [\n  'a' // a\n];\n", 'P', "'c'", 'c')).toBe(
        "const P = [\n  'a', // a\n  'c', // c\n];\n",
      );
    });

    it('fails, naming the file, when the array is not there', () => {
      expect(() => addArrayElement('eslint.config.mjs', 'const other = [];\n', 'contexts', "'x'")).toThrow(
        'eslint.config.mjs: no array literal assigned to `contexts`',
      );
      expect(() => addArrayElement('eslint.config.mjs', 'const contexts = list();\n', 'contexts', "'x'")).toThrow(
        /no array literal/,
      );
      expect(() => stringArrayElements('eslint.config.mjs', 'const contexts = [name];\n', 'contexts')).toThrow(
        /string literals only/,
      );
    });
  });

  it('adds a union member and declares it above the union, once', () => {
    const text = "export interface A {\n  type: 'A';\n}\n\nexport type E = A;\nexport type T = E['type'];\n";
    let edited = addUnionMember('e.ts', text, 'E', 'B');
    edited = insertBeforeTypeAlias('e.ts', edited, 'E', "export interface B {\n  type: 'B';\n}");
    expect(edited).toBe(
      "export interface A {\n  type: 'A';\n}\n\nexport interface B {\n  type: 'B';\n}\n\nexport type E = A | B;\nexport type T = E['type'];\n",
    );
    expect(addUnionMember('e.ts', edited, 'E', 'B')).toBe(edited);
    expect(() => addUnionMember('e.ts', text, 'F', 'B')).toThrow('e.ts: no `type F = ...` to add B to');
  });

  it('inserts a case before the default of the right switch', () => {
    const text = [
      'function other(x: E) {',
      '  switch (x.type) {',
      '    default:',
      '      return 0;',
      '  }',
      '}',
      'function evolve(s: S, event: E) {',
      '  switch (event.type) {',
      "    case 'A':",
      '      return 1;',
      '    default:',
      '      return 0;',
      '  }',
      '}',
      '',
    ].join('\n');
    const edited = insertCaseBeforeDefault('s.ts', text, 'evolve', 'event.type', "    case 'B':\n      return 2;");
    expect(edited).toContain(
      "      return 1;\n    case 'B':\n      return 2;\n    default:\n      return 0;\n  }\n}\n",
    );
    expect(edited.indexOf("case 'B'")).toBeGreaterThan(edited.indexOf('function evolve'));
    expect(() => insertCaseBeforeDefault('s.ts', text, 'decide', 'command.type', '')).toThrow(
      's.ts: no function `decide`',
    );
    expect(() => insertCaseBeforeDefault('s.ts', text, 'evolve', 'command.type', '')).toThrow(
      'no `switch (command.type)` with a `default:` in `evolve`',
    );
  });

  it('adds a named import to an existing import, or a new one', () => {
    const text = "import type { A } from './a';\nimport { b } from './b';\n\nexport const x = 1;\n";
    expect(addNamedImport('x.ts', text, './a', 'C', true)).toContain("import type { A, C } from './a';");
    expect(addNamedImport('x.ts', text, './b', 'D', true)).toContain("import { b, type D } from './b';");
    expect(addNamedImport('x.ts', text, './a', 'e')).toBe(
      "import type { A } from './a';\nimport { b } from './b';\nimport { e } from './a';\n\nexport const x = 1;\n",
    );
    expect(addNamedImport('x.ts', text, './a', 'A', true)).toBe(text);
  });

  it('inserts a declaration above another, with its comments, so a class precedes the const using it', () => {
    const text = 'export class A {}\n\n/** All. */\n// really\nexport const ALL = [A];\n';
    const edited = insertBeforeDeclaration('c.ts', text, 'ALL', 'export class B {}');
    expect(edited).toBe('export class A {}\n\nexport class B {}\n\n/** All. */\n// really\nexport const ALL = [A];\n');
    expect(topLevelDeclarations('c.ts', edited)).toEqual(['A', 'B', 'ALL']);
    expect(() => insertBeforeDeclaration('c.ts', text, 'NONE', '')).toThrow(
      'c.ts: no top-level declaration of `NONE` to insert before',
    );
  });

  it('appends a member to a class', () => {
    const text = 'export class C {\n  constructor() {}\n\n  a() {}\n}\n\nexport class D {}\n';
    const edited = addClassMember('c.ts', text, 'C', '  b() {}');
    expect(edited).toBe('export class C {\n  constructor() {}\n\n  a() {}\n\n  b() {}\n}\n\nexport class D {}\n');
    expect(classMemberNames('c.ts', edited, 'C')).toEqual(['a', 'b']);
    expect(addClassMember('c.ts', edited, 'D', '  d() {}')).toContain('export class D {\n  d() {}\n}\n');
    expect(() => addClassMember('c.ts', text, 'E', '')).toThrow('c.ts: no `class E`');
  });
});
