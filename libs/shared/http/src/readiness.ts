import { LRUCache } from 'lru-cache';

/** One readiness dependency. `check` resolves when it is usable and rejects (with the reason) when not. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
  /** Releases what the check holds of its own (a connection), on shutdown. */
  close?: () => Promise<void>;
}

/** Where readiness reports a dependency going down (with the reason) or coming back. */
export interface ReadinessLogger {
  warn(details: object, message: string): void;
  log(details: object, message: string): void;
}

export interface ReadinessOptions {
  /** How long one evaluation answers every probe, in ms; 0 evaluates each probe. @default 1000 */
  cacheMs?: number;
  /** A check that has not answered within this many ms counts as down. @default 3000 */
  checkTimeoutMs?: number;
}

/** Up or down per dependency: all a readiness probe is told. */
export type ReadinessVerdict = Record<string, 'up' | 'down'>;

/**
 * Runs the checks and answers up/down per dependency. One evaluation serves every probe for
 * `cacheMs` (probes arriving while it runs wait for it), so a probe storm costs one round of
 * checks per interval. Why a dependency is down goes to the log, once per change of state, never
 * to the caller: a public endpoint must not hand out error texts, hosts or stack traces.
 */
export class Readiness {
  private readonly state = new Map<string, 'up' | 'down'>();
  private readonly timeoutMs: number;
  private readonly cache: LRUCache<'ready', ReadinessVerdict> | undefined;

  constructor(
    private readonly checks: readonly ReadinessCheck[],
    private readonly logger: ReadinessLogger,
    options: ReadinessOptions = {},
  ) {
    this.timeoutMs = options.checkTimeoutMs ?? 3000;
    const cacheMs = options.cacheMs ?? 1000;
    // lru-cache's fetch dedupes the evaluation in flight and keeps its result for the ttl.
    this.cache = cacheMs > 0 ? new LRUCache({ max: 1, ttl: cacheMs, fetchMethod: () => this.evaluate() }) : undefined;
  }

  /** Releases the checks' own connections. */
  async close(): Promise<void> {
    await Promise.all(this.checks.map((c) => c.close?.().catch(() => undefined)));
  }

  /** Every dependency's state, from the evaluation of the last `cacheMs`. */
  async verdict(): Promise<ReadinessVerdict> {
    return (await this.cache?.fetch('ready')) ?? this.evaluate();
  }

  private async evaluate(): Promise<ReadinessVerdict> {
    const results = await Promise.all(this.checks.map(async (c) => [c.name, await this.run(c)] as const));
    return Object.fromEntries(results);
  }

  private async run(c: ReadinessCheck): Promise<'up' | 'down'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      await Promise.race([c.check(), timeout]);
      if (this.state.get(c.name) === 'down')
        this.logger.log({ dependency: c.name }, `readiness: ${c.name} is up again`);
      this.state.set(c.name, 'up');
      return 'up';
    } catch (error) {
      if (this.state.get(c.name) !== 'down') {
        this.logger.warn(
          { dependency: c.name, err: error },
          `readiness: ${c.name} is down: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      this.state.set(c.name, 'down');
      return 'down';
    } finally {
      clearTimeout(timer);
    }
  }
}
