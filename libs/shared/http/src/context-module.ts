import type { DynamicModule, InjectionToken } from '@nestjs/common';
import type { ReadinessCheck } from './readiness';

/**
 * One bounded context's part of an app: its Nest module (routes, handlers, queries) and the
 * readiness checks of what only it depends on. Each app lists its contexts in one registration
 * point (`src/contexts.ts`); the app's module imports them all and merges their checks.
 */
export interface ContextModule<Config> {
  /** The context's name: its `scope:<name>` tag and its folder under `schemas/`. */
  readonly name: string;
  /** The context's module, configured from the app's configuration. */
  module(config: Config): DynamicModule;
  /** Checks built from providers the context's module exports. */
  readonly readiness?: ContextReadiness;
}

export interface ContextReadiness {
  inject: InjectionToken[];
  checks: (...deps: never[]) => ReadinessCheck[];
}

/** The modules of an app's contexts, and their readiness as one injectable part. */
export interface ComposedContexts {
  modules: DynamicModule[];
  /** Every context's tokens, in context order. */
  inject: InjectionToken[];
  /** Hands each context its own slice of the injected values; its checks, in context order. */
  checks: (deps: readonly unknown[]) => ReadinessCheck[];
}

/**
 * Builds the contexts' modules from the app's configuration. Refuses two contexts of one name,
 * which would register the same routes and providers twice.
 */
export function composeContexts<Config>(contexts: readonly ContextModule<Config>[], config: Config): ComposedContexts {
  const seen = new Set<string>();
  for (const c of contexts) {
    if (seen.has(c.name)) throw new Error(`the context "${c.name}" is registered twice`);
    seen.add(c.name);
  }
  const parts = contexts.map((c) => c.readiness ?? { inject: [], checks: () => [] });
  return {
    modules: contexts.map((c) => c.module(config)),
    inject: parts.flatMap((p) => p.inject),
    checks: (deps) => {
      let at = 0;
      return parts.flatMap((p) => {
        const own = deps.slice(at, at + p.inject.length);
        at += p.inject.length;
        return p.checks(...(own as never[]));
      });
    },
  };
}
