import { readRepoFile } from './repo';

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string | undefined>;
  stages: Stage[];
}

/** Parses a Dockerfile: comments and parser directives dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending && line.trimStart().startsWith('#')) return; // comments inside a continuation
    if (!pending) start = index + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const [keyword = ''] = full.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: full.slice(keyword.length).trim(), line: start });
  });

  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    const current = stages.at(-1);
    if (instruction.keyword === 'FROM') {
      const [base = '', as, name] = instruction.args.split(/\s+/).filter((part) => !part.startsWith('--'));
      stages.push({ base, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (current) {
      current.instructions.push(instruction);
    } else if (instruction.keyword === 'ARG') {
      Object.assign(globalArgs, parseArg(instruction.args));
    }
  }
  return { globalArgs, stages };
}

export const loadDockerfile = (path = 'Dockerfile'): Dockerfile => parseDockerfile(readRepoFile(path));

const parseArg = (args: string): Record<string, string | undefined> => {
  const [name = '', value] = args.split(/=(.*)/s);
  return { [name.trim()]: value === undefined ? undefined : unquote(value.trim()) };
};

const unquote = (value: string): string => value.replace(/^"(.*)"$/s, '$1').replace(/^'(.*)'$/s, '$1');

/** A stage by name; the last one (what `docker build` builds by default) when no name is given. */
export function stage(dockerfile: Dockerfile, name?: string): Stage {
  const found = name ? dockerfile.stages.find((s) => s.name === name) : dockerfile.stages.at(-1);
  if (!found)
    throw new Error(
      `Dockerfile has no stage ${name ?? '(any)'}; stages: ${dockerfile.stages.map((s) => s.name).join(', ')}`,
    );
  return found;
}

/** The instructions of a stage with a given keyword. */
export const instructionsOf = (s: Stage, keyword: string): Instruction[] =>
  s.instructions.filter((i) => i.keyword === keyword);

/** A stage and the stages it is FROM, nearest first. */
function lineage(dockerfile: Dockerfile, s: Stage): Stage[] {
  const chain: Stage[] = [];
  for (let current: Stage | undefined = s; current && !chain.includes(current); ) {
    chain.push(current);
    const base: string = current.base;
    current = dockerfile.stages.find((x) => x.name === base);
  }
  return chain;
}

/** The last instruction of a kind in a stage, or of the stages it is FROM (Docker's inheritance). */
export function effective(dockerfile: Dockerfile, s: Stage, keyword: string): Instruction | undefined {
  for (const current of lineage(dockerfile, s)) {
    const found = instructionsOf(current, keyword).at(-1);
    if (found) return found;
  }
  return undefined;
}

/** The arguments of the effective instruction of a kind; throws, naming it, when there is none. */
export function instruction(dockerfile: Dockerfile, s: Stage, keyword: string): string {
  const found = effective(dockerfile, s, keyword);
  if (!found) throw new Error(`Dockerfile: stage ${s.name ?? '(unnamed)'} has no ${keyword}`);
  return found.args;
}

/** The HEALTHCHECK's command, its options dropped, in exec form. */
export const healthcheckCommand = (dockerfile: Dockerfile, s: Stage): string[] =>
  execForm(instruction(dockerfile, s, 'HEALTHCHECK').replace(/^(--\S+\s+)*CMD\s+/, ''), 'HEALTHCHECK CMD');

/** Exec-form arguments (`["node", "main.js"]`); throws on shell form, which Docker would wrap in /bin/sh -c. */
export function execForm(args: string, what: string): string[] {
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return parsed;
  } catch {
    // fall through
  }
  throw new Error(`${what} must use the exec form ["...", "..."] (got: ${args})`);
}

/**
 * Docker's variable substitution in an instruction's arguments: `$NAME`, `${NAME}`,
 * `${NAME:-word}` (word when NAME is unset or empty), `${NAME:+word}` (word when it is set and
 * not empty); the word may itself hold substitutions (`${A:-${B}}`). Unknown names are empty.
 */
export function substitute(text: string, vars: Record<string, string | undefined>): string {
  let at = 0;
  const word = (stop?: string): string => {
    let out = '';
    while (at < text.length && text[at] !== stop) {
      if (text[at] === '\\' && text[at + 1] === '$') {
        out += '$';
        at += 2;
      } else if (text.startsWith('${', at)) {
        at += 2;
        const name = /^\w*/.exec(text.slice(at))?.[0] ?? '';
        at += name.length;
        let value = vars[name] ?? '';
        const modifier = text.slice(at, at + 2);
        if (modifier === ':-' || modifier === ':+') {
          at += 2;
          const alternative = word('}');
          value = modifier === ':-' ? value || alternative : value && alternative;
        }
        if (!name || text[at] !== '}') throw new Error(`Dockerfile: bad substitution in ${text}`);
        at += 1;
        out += value;
      } else if (text[at] === '$' && /\w/.test(text[at + 1] ?? '')) {
        const name = /^\w+/.exec(text.slice(at + 1))?.[0] ?? '';
        out += vars[name] ?? '';
        at += 1 + name.length;
      } else {
        out += text[at];
        at += 1;
      }
    }
    return out;
  };
  return word();
}

/** The build arguments in scope at each instruction of a stage: its ARGs, from `args` or their defaults. */
function withArgs(
  s: Stage,
  args: Record<string, string>,
  each: (instruction: Instruction, argValues: Record<string, string>) => void,
): void {
  const argValues: Record<string, string> = {};
  for (const i of s.instructions) {
    if (i.keyword === 'ARG') {
      for (const [name, value] of Object.entries(parseArg(i.args))) argValues[name] = args[name] ?? value ?? '';
    }
    each(i, argValues);
  }
}

/**
 * The ENV of a stage and the stages it is FROM, with ${ARG} references substituted from `args`
 * (build arguments, then ARG defaults).
 */
export function environment(
  dockerfile: Dockerfile,
  s: Stage,
  args: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const current of lineage(dockerfile, s).reverse()) {
    withArgs(current, args, (i, argValues) => {
      if (i.keyword !== 'ENV') return;
      for (const [, name = '', value = ''] of i.args.matchAll(/(\w+)=("[^"]*"|'[^']*'|\S*)/g)) {
        // An ENV of the same name overrides an ARG (Docker's rule).
        env[name] = substitute(unquote(value), { ...argValues, ...env });
      }
    });
  }
  return env;
}

/** The ports a stage EXPOSEs (with those of the stages it is FROM), build arguments and ENV substituted. */
export function exposedPorts(dockerfile: Dockerfile, s: Stage, args: Record<string, string> = {}): number[] {
  const ports = new Set<number>();
  for (const current of lineage(dockerfile, s).reverse()) {
    const env = environment(dockerfile, current, args);
    withArgs(current, args, (i, argValues) => {
      if (i.keyword !== 'EXPOSE') return;
      for (const word of i.args.split(/\s+/)) {
        const spec = substitute(word, { ...argValues, ...env });
        if (spec !== '') ports.add(Number(spec.replace(/\/(tcp|udp)$/, '')));
      }
    });
  }
  return [...ports].sort((a, b) => a - b);
}
