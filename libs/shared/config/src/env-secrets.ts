import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from './load-config';

/** The environment a reader looks at (`process.env`, or a plain record in tests). */
export type EnvSource = Readonly<Record<string, string | undefined>>;

/** One problem with one variable; readers collect them and report all at once in a {@link ConfigError}. */
export interface ConfigIssue {
  variable: string;
  message: string;
}

/** A set value: unset and empty (`X=`) both count as not set. */
export function envValue(env: EnvSource, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

const reasonOf = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? (error as Error).message;
};

/** Reads a file named by a variable, as text; a problem becomes an issue naming the variable (and the path, never the content). */
function readNamedFile(variable: string, path: string, issues: ConfigIssue[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    issues.push({ variable, message: `cannot read ${path}: ${reasonOf(error)}` });
    return undefined;
  }
}

const trimSecret = (text: string) => text.replace(/[\r\n]+$/, '');

/**
 * A secret: the variable `name`, or the content of the file named by `name_FILE` (trailing
 * newlines trimmed; for mounted secrets). Setting both is an error, as is an unreadable or empty
 * file. Messages name variables and paths, never a secret's value.
 */
export function secretFromEnv(env: EnvSource, name: string, issues: ConfigIssue[]): string | undefined {
  const fileVariable = `${name}_FILE`;
  const direct = env[name] === undefined || env[name] === '' ? undefined : env[name];
  const file = envValue(env, fileVariable);
  if (direct !== undefined && file !== undefined) {
    issues.push({ variable: fileVariable, message: `set either ${name} or ${fileVariable}, not both` });
    return undefined;
  }
  if (file === undefined) return direct;
  const text = readNamedFile(fileVariable, file, issues);
  if (text === undefined) return undefined;
  const secret = trimSecret(text);
  if (secret === '') {
    issues.push({ variable: fileVariable, message: `${file} is empty` });
    return undefined;
  }
  return secret;
}

/**
 * Like {@link secretFromEnv} for a secret that rotates (a short-lived token a sidecar renews): a
 * function returning the current value, which re-reads `name_FILE` whenever the file changes
 * (and keeps the last value while a rewrite leaves it unreadable or empty). The first read
 * happens here, so a missing file is reported at start-up.
 */
export function rotatingSecretFromEnv(env: EnvSource, name: string, issues: ConfigIssue[]): (() => string) | undefined {
  const file = envValue(env, `${name}_FILE`);
  const first = secretFromEnv(env, name, issues);
  if (first === undefined) return undefined;
  if (file === undefined || env[name]) return () => first;
  let value = first;
  let seen = fileStamp(file);
  return () => {
    const stamp = fileStamp(file);
    if (stamp !== undefined && stamp !== seen) {
      try {
        const next = trimSecret(readFileSync(file, 'utf8'));
        if (next !== '') {
          value = next;
          seen = stamp;
        }
      } catch {
        // being replaced: the previous value until the next call sees the new file
      }
    }
    return value;
  };
}

function fileStamp(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}

/**
 * The content of a file named by the variable `name` (a CA bundle, a certificate, a key), or
 * undefined when the variable is not set. `expect` is a PEM label the content must hold
 * (`CERTIFICATE`, `PRIVATE KEY`), so a wrong file is reported at start-up, by variable name.
 */
export function pemFileFromEnv(
  env: EnvSource,
  name: string,
  issues: ConfigIssue[],
  expect?: 'CERTIFICATE' | 'PRIVATE KEY',
): string | undefined {
  const path = envValue(env, name);
  if (path === undefined) return undefined;
  const text = readNamedFile(name, path, issues);
  if (text === undefined) return undefined;
  if (expect && !new RegExp(`-----BEGIN [A-Z ]*${expect}-----`).test(text)) {
    issues.push({
      variable: name,
      message: `${path} holds no PEM ${expect.toLowerCase()} (-----BEGIN ...${expect}-----)`,
    });
    return undefined;
  }
  return text;
}

type Readers = Record<string, () => unknown>;

/**
 * Runs several config readers (an app's `loadConfig`, `kafkaSecurityFromEnv`, ...) and reports
 * the problems of all of them together, as one {@link ConfigError} of `service`: the process then
 * exits with one readable list, whatever reader found what.
 */
export function collectConfig<R extends Readers>(service: string, readers: R): { [K in keyof R]: ReturnType<R[K]> } {
  const issues: ConfigIssue[] = [];
  const result: Record<string, unknown> = {};
  for (const [key, read] of Object.entries(readers)) {
    try {
      result[key] = read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
  }
  if (issues.length > 0) throw new ConfigError(service, issues);
  return result as { [K in keyof R]: ReturnType<R[K]> };
}
