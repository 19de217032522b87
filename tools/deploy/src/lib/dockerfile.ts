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
  if (!found) throw new Error(`Dockerfile has no stage ${name ?? '(any)'}; stages: ${dockerfile.stages.map((s) => s.name).join(', ')}`);
  return found;
}

/** The instructions of a stage with a given keyword. */
export const instructionsOf = (s: Stage, keyword: string): Instruction[] => s.instructions.filter((i) => i.keyword === keyword);

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
 * The ENV of a stage and the stages it is FROM, with ${ARG} references substituted from `args`
 * (build arguments, then ARG defaults).
 */
export function environment(dockerfile: Dockerfile, s: Stage, args: Record<string, string> = {}): Record<string, string> {
  const chain = lineage(dockerfile, s).reverse();
  const env: Record<string, string> = {};
  for (const current of chain) {
    const argValues: Record<string, string> = {};
    for (const i of current.instructions) {
      if (i.keyword === 'ARG') {
        for (const [name, value] of Object.entries(parseArg(i.args))) argValues[name] = args[name] ?? value ?? '';
      } else if (i.keyword === 'ENV') {
        const substitute = (value: string) => value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string, b: string) => argValues[a ?? b] ?? env[a ?? b] ?? '');
        for (const [, name = '', value = ''] of i.args.matchAll(/(\w+)=("[^"]*"|'[^']*'|\S+)/g)) {
          env[name] = substitute(unquote(value));
        }
      }
    }
  }
  return env;
}
