import { parse } from 'yaml';
import { readRepoFile } from './repo';

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string; args?: Record<string, string> };
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string; interval?: string };
  profiles?: string[];
  entrypoint?: string[] | string;
  command?: string[] | string;
  volumes?: string[];
  restart?: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

/**
 * Compose's variable interpolation (https://docs.docker.com/reference/compose-file/interpolation/):
 * `$VAR`, `${VAR}`, `${VAR:-default}` / `${VAR-default}`, `${VAR:?error}` / `${VAR?error}`,
 * `${VAR:+replacement}` / `${VAR+replacement}`, nested (`${A:-${B:-x}}`), and `$$` for a `$`.
 * With the colon, an empty value counts as unset. `vars` plays the shell environment / .env file;
 * the default is an empty one, what a user gets from a plain `docker compose up`.
 */
export function interpolate(value: string, vars: Record<string, string | undefined> = {}): string {
  let at = 0;
  const invalid = () => new Error(`compose: invalid interpolation format in ${JSON.stringify(value)}`);
  const text = (stop?: string): string => {
    let out = '';
    while (at < value.length && value[at] !== stop) {
      if (value.startsWith('$$', at)) {
        out += '$';
        at += 2;
      } else if (value.startsWith('${', at)) {
        at += 2;
        out += braced();
      } else if (value[at] === '$' && /[A-Za-z_]/.test(value[at + 1] ?? '')) {
        const name = /^[A-Za-z_]\w*/.exec(value.slice(at + 1))?.[0] ?? '';
        out += vars[name] ?? '';
        at += 1 + name.length;
      } else {
        out += value[at];
        at += 1;
      }
    }
    return out;
  };
  const braced = (): string => {
    const name = /^[A-Za-z_]\w*/.exec(value.slice(at))?.[0];
    if (!name) throw invalid();
    at += name.length;
    const operator = /^:?[-?+]/.exec(value.slice(at))?.[0];
    let argument = '';
    if (operator) {
      at += operator.length;
      argument = text('}');
    }
    if (value[at] !== '}') throw invalid();
    at += 1;
    const current = vars[name];
    const unset = operator?.startsWith(':') ? !current : current === undefined;
    switch (operator?.slice(-1)) {
      case '-':
        return unset ? argument : (current ?? '');
      case '?':
        if (unset) throw new Error(`compose: required variable ${name} is missing a value: ${argument}`);
        return current ?? '';
      case '+':
        return unset ? '' : argument;
      default:
        return current ?? '';
    }
  };
  return text();
}

const interpolateDeep = (node: unknown, vars: Record<string, string | undefined>): unknown => {
  if (typeof node === 'string') return interpolate(node, vars);
  if (Array.isArray(node)) return node.map((item) => interpolateDeep(item, vars));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateDeep(v, vars)]));
  }
  return node;
};

/** docker-compose.yml as `docker compose config` would see it: merge keys resolved, variables interpolated. */
export function loadCompose(vars: Record<string, string | undefined> = {}, path = 'docker-compose.yml'): ComposeFile {
  const raw = parse(readRepoFile(path), { merge: true }) as ComposeFile;
  const services = Object.fromEntries(
    Object.entries(raw.services).map(([name, service]) => {
      const clean = Object.fromEntries(Object.entries(service).filter(([key]) => key !== '<<')) as ComposeService;
      return [name, interpolateDeep(clean, vars) as ComposeService];
    }),
  );
  return { ...raw, services };
}

/** A service's environment as strings (compose passes every value as a string). */
export const environmentOf = (service: ComposeService): Record<string, string> =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));

/** A published port's parts: [host ip, host port, container port]. */
export function parsePort(spec: string): { hostIp?: string; hostPort: number; containerPort: number } {
  const parts = spec.replace(/\/(tcp|udp)$/, '').split(':');
  const containerPort = Number(parts.at(-1));
  const hostPort = Number(parts.at(-2) ?? parts.at(-1));
  return { hostIp: parts.length === 3 ? parts[0] : undefined, hostPort, containerPort };
}
