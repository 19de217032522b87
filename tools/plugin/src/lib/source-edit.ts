import type { Tree } from '@nx/devkit';
import * as ts from 'typescript';

/**
 * Edits of generated (or hand-kept) source files, located with the TypeScript parser rather than
 * with patterns, so formatting and comments do not matter. Each edit either finds its anchor or
 * throws naming the file and what it looked for; none of them writes half an edit. Prettier
 * (`formatFiles`) lays the inserted text out afterwards.
 */

export class SourceEditError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'SourceEditError';
  }
}

function parse(file: string, text: string): ts.SourceFile {
  const kind = /\.[cm]?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
}

export function readSource(tree: Tree, file: string): string {
  const text = tree.read(file, 'utf-8');
  if (text === null) throw new SourceEditError(file, 'file not found');
  return text;
}

function find<T extends ts.Node>(node: ts.Node, test: (n: ts.Node) => n is T): T | undefined {
  if (test(node)) return node;
  return ts.forEachChild(node, (child) => find(child, test));
}

const insertAt = (text: string, pos: number, insert: string): string => text.slice(0, pos) + insert + text.slice(pos);

/**
 * The string elements of the array literal assigned to `const <name>` (e.g. `contexts` in
 * eslint.config.mjs), or an error if there is no such literal or it holds anything but strings.
 */
export function stringArrayElements(file: string, text: string, name: string): string[] {
  const array = arrayLiteral(file, text, name);
  return array.elements.map((element) => {
    if (!ts.isStringLiteral(element)) {
      throw new SourceEditError(file, `\`${name}\` must list string literals only, found ${element.getText()}`);
    }
    return element.text;
  });
}

function arrayLiteral(file: string, text: string, name: string): ts.ArrayLiteralExpression {
  const declaration = find(
    parse(file, text),
    (n): n is ts.VariableDeclaration => ts.isVariableDeclaration(n) && n.name.getText() === name,
  );
  let init = declaration?.initializer;
  while (init && (ts.isAsExpression(init) || ts.isSatisfiesExpression(init) || ts.isParenthesizedExpression(init))) {
    init = init.expression;
  }
  if (!init || !ts.isArrayLiteralExpression(init)) {
    throw new SourceEditError(file, `no array literal assigned to \`${name}\` (expected \`const ${name} = [...]\`)`);
  }
  return init;
}

/**
 * Appends `element` (source text, e.g. `'projects'` or `projectsContext`) to the array literal
 * assigned to `const <name>`; returns the text unchanged if the array already holds it. With a
 * `comment`, the element goes on a line of its own, after the last element's comma and the
 * comment on that line, so every comment stays with the element it describes.
 */
export function addArrayElement(file: string, text: string, name: string, element: string, comment?: string): string {
  const array = arrayLiteral(file, text, name);
  const normalise = (s: string) => s.replace(/"/g, "'").trim();
  if (array.elements.some((e) => normalise(e.getText()) === normalise(element))) return text;
  const last = array.elements[array.elements.length - 1];
  if (comment === undefined) {
    return last ? insertAt(text, last.getEnd(), `, ${element}`) : insertAt(text, array.elements.pos, element);
  }
  if (comment.includes('\n')) throw new SourceEditError(file, `a comment of one line expected, got ${comment}`);
  let out = text;
  let pos = array.elements.pos;
  if (last) {
    pos = array.elements.hasTrailingComma ? out.indexOf(',', last.getEnd()) + 1 : last.getEnd() + 1;
    if (!array.elements.hasTrailingComma) out = insertAt(out, last.getEnd(), ',');
  }
  const lineEnd = out.indexOf('\n', pos);
  const restOfLine = lineEnd === -1 ? out.slice(pos) : out.slice(pos, lineEnd);
  const alone = /^[ \t]*(\/\/.*)?$/.test(restOfLine);
  if (alone && lineEnd !== -1) pos = lineEnd;
  const lineStart = out.lastIndexOf('\n', (last ?? array).getStart()) + 1;
  const indent = /^[ \t]*/.exec(out.slice(lineStart))?.[0] ?? '';
  const line = `\n${last ? indent : indent + '  '}${element}, // ${comment}`;
  // whatever followed on that line (the closing bracket of a one-line array) moves below it
  return insertAt(out, pos, alone && lineEnd !== -1 ? line : `${line}\n${indent}`);
}

/** Adds `member` to the union `type <name> = A | B`; unchanged if it is there already. */
export function addUnionMember(file: string, text: string, name: string, member: string): string {
  const alias = find(
    parse(file, text),
    (n): n is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(n) && n.name.text === name,
  );
  if (!alias) throw new SourceEditError(file, `no \`type ${name} = ...\` to add ${member} to`);
  const members = ts.isUnionTypeNode(alias.type) ? alias.type.types : [alias.type];
  if (members.some((m) => m.getText() === member)) return text;
  return insertAt(text, alias.type.getEnd(), ` | ${member}`);
}

/**
 * Inserts `block` (a declaration) before the statement declaring `type <name>`, separated by a
 * blank line, so a new union member is declared above the union that lists it.
 */
export function insertBeforeTypeAlias(file: string, text: string, name: string, block: string): string {
  const alias = parse(file, text).statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === name);
  if (!alias) throw new SourceEditError(file, `no top-level \`type ${name} = ...\` to declare a member before`);
  const start = alias.getStart();
  return insertAt(text, start, `${block.trimEnd()}\n\n`);
}

/**
 * Inserts `block` before the top-level statement that declares `name` (a type, interface, class,
 * function or `const`), above its leading comments and separated by a blank line: a class must be
 * declared before a `const` that uses it when the module loads.
 */
export function insertBeforeDeclaration(file: string, text: string, name: string, block: string): string {
  const source = parse(file, text);
  const statement = source.statements.find((s) => declaredNames(s).includes(name));
  if (!statement) throw new SourceEditError(file, `no top-level declaration of \`${name}\` to insert before`);
  const comments = ts.getLeadingCommentRanges(text, statement.getFullStart()) ?? [];
  const start = comments.length > 0 ? comments[0].pos : statement.getStart(source);
  return insertAt(text, start, `${block.trimEnd()}\n\n`);
}

/** The names the file's top-level statements declare (types, interfaces, classes, functions, `const`s). */
export function topLevelDeclarations(file: string, text: string): string[] {
  return parse(file, text).statements.flatMap(declaredNames);
}

function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  }
  if (
    ts.isTypeAliasDeclaration(statement) ||
    ts.isInterfaceDeclaration(statement) ||
    ts.isClassDeclaration(statement) ||
    ts.isFunctionDeclaration(statement)
  ) {
    return statement.name ? [statement.name.text] : [];
  }
  return [];
}

function classDeclaration(file: string, text: string, className: string): ts.ClassDeclaration {
  const cls = find(
    parse(file, text),
    (n): n is ts.ClassDeclaration => ts.isClassDeclaration(n) && n.name?.text === className,
  );
  if (!cls) throw new SourceEditError(file, `no \`class ${className}\``);
  return cls;
}

/** The names of the members (methods, properties) of `class <className>`. */
export function classMemberNames(file: string, text: string, className: string): string[] {
  return classDeclaration(file, text, className).members.flatMap((m) => (m.name ? [m.name.getText()] : []));
}

/** Appends `member` (a method or property, source text) at the end of the body of `class <className>`. */
export function addClassMember(file: string, text: string, className: string, member: string): string {
  const cls = classDeclaration(file, text, className);
  const closing = cls.getEnd() - 1; // the class body's `}`
  const lineStart = text.lastIndexOf('\n', closing) + 1;
  const at = text.slice(lineStart, closing).trim() === '' ? lineStart : closing;
  return insertAt(text, at, `\n${member.trimEnd()}\n`);
}

/** The `type` names of the union `type <name> = A | B` (its members' source text). */
export function unionMembers(file: string, text: string, name: string): string[] {
  const alias = find(
    parse(file, text),
    (n): n is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(n) && n.name.text === name,
  );
  if (!alias) throw new SourceEditError(file, `no \`type ${name} = ...\``);
  return (ts.isUnionTypeNode(alias.type) ? alias.type.types : [alias.type]).map((m) => m.getText());
}

/**
 * Inserts `clause` (one or more `case …:` clauses) before the `default:` of the switch in the
 * function `functionName` (a declaration, or a method/property of an object literal) whose
 * discriminant is `discriminant` (e.g. `event.type`).
 */
export function insertCaseBeforeDefault(
  file: string,
  text: string,
  functionName: string,
  discriminant: string,
  clause: string,
): string {
  const source = parse(file, text);
  const fn = find(
    source,
    (n): n is ts.FunctionLikeDeclaration =>
      (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name?.getText() === functionName,
  );
  if (!fn?.body) throw new SourceEditError(file, `no function \`${functionName}\``);
  const switchStatement = find(
    fn.body,
    (n): n is ts.SwitchStatement => ts.isSwitchStatement(n) && n.expression.getText() === discriminant,
  );
  const defaultClause = switchStatement?.caseBlock.clauses.find(ts.isDefaultClause);
  if (!defaultClause) {
    throw new SourceEditError(file, `no \`switch (${discriminant})\` with a \`default:\` in \`${functionName}\``);
  }
  const lineStart = text.lastIndexOf('\n', defaultClause.getStart()) + 1;
  return insertAt(text, lineStart, clause.endsWith('\n') ? clause : clause + '\n');
}

/** Whether the switch on `discriminant` in `functionName` has `case '<value>':`. */
export function hasCase(file: string, text: string, functionName: string, value: string): boolean {
  const source = parse(file, text);
  const fn = find(
    source,
    (n): n is ts.FunctionLikeDeclaration =>
      (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name?.getText() === functionName,
  );
  if (!fn?.body) throw new SourceEditError(file, `no function \`${functionName}\``);
  const clause = find(
    fn.body,
    (n): n is ts.CaseClause => ts.isCaseClause(n) && ts.isStringLiteral(n.expression) && n.expression.text === value,
  );
  return clause !== undefined;
}

/**
 * Adds `name` to the named imports from `module` (`import { … } from 'module'`, or
 * `import type { … }` when `typeOnly`), adding the import declaration after the last one if the
 * file has none from that module yet.
 */
export function addNamedImport(file: string, text: string, module: string, name: string, typeOnly = false): string {
  const source = parse(file, text);
  const imports = source.statements.filter(ts.isImportDeclaration);
  const from = imports.find(
    (i) =>
      ts.isStringLiteral(i.moduleSpecifier) &&
      i.moduleSpecifier.text === module &&
      i.importClause?.namedBindings &&
      ts.isNamedImports(i.importClause.namedBindings) &&
      (i.importClause.isTypeOnly === typeOnly || !i.importClause.isTypeOnly),
  );
  if (from) {
    const bindings = from.importClause?.namedBindings as ts.NamedImports;
    if (bindings.elements.some((e) => e.name.text === name)) return text;
    const last = bindings.elements[bindings.elements.length - 1];
    const spec = typeOnly && !from.importClause?.isTypeOnly ? `type ${name}` : name;
    return last ? insertAt(text, last.getEnd(), `, ${spec}`) : insertAt(text, bindings.elements.pos, spec);
  }
  const line = `import ${typeOnly ? 'type ' : ''}{ ${name} } from '${module}';\n`;
  const after = imports[imports.length - 1];
  return after ? insertAt(text, after.getEnd() + 1, line) : line + text;
}

/** Appends `block` at the end of the file, separated by one blank line. */
export function appendBlock(text: string, block: string): string {
  return `${text.trimEnd()}\n\n${block.trimEnd()}\n`;
}
