import { z } from 'zod';

/** Raised when the environment does not satisfy an app's config schema; lists every problem. */
export class ConfigError extends Error {
  readonly service: string;
  readonly issues: { variable: string; message: string }[];

  constructor(service: string, issues: { variable: string; message: string }[]) {
    super(`${service}: invalid configuration\n` + issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n'));
    this.service = service;
    this.issues = issues;
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates an app's environment once, at its entry point.
 * The schema's keys are the environment variable names; defaults in the schema are the local
 * defaults that match `npm start`. All problems are reported together, not the first only.
 */
export function loadConfig<S extends z.ZodRawShape>(
  service: string,
  shape: S,
  source: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(source);
  if (result.success) return result.data;
  throw new ConfigError(
    service,
    result.error.issues.map((issue) => ({
      variable: issue.path.join('.') || '(root)',
      message: issue.message,
    })),
  );
}

/** Small building blocks for environment schemas (every env value arrives as a string). */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  url: (fallback: string) => z.string().url().default(fallback),
  string: (fallback: string) => z.string().min(1).default(fallback),
  list: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string()).min(1)),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
};
