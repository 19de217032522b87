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
 * Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$.
 * `vars` plays the shell environment / .env file; the default is an empty one, what a user gets
 * from a plain `docker compose up`.
 */
export function interpolate(value: string, vars: Record<string, string | undefined> = {}): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)/g, (match, name?: string, op?: string, arg?: string, bare?: string) => {
    if (match === '$$') return '$';
    const key = name ?? bare ?? '';
    const current = vars[key];
    const unset = op?.startsWith(':') ? !current : current === undefined;
    if (unset && op?.endsWith('?')) throw new Error(`compose: required variable ${key} is missing: ${arg}`);
    if (unset && op?.endsWith('-')) return arg ?? '';
    return current ?? '';
  });
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
