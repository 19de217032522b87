import { adminOptionFactories, type AdminOptionFactories } from './admin';
import { createServiceClients, type BaseUrls, type ServiceClients, type TokenProvider } from './http';
import { DEFAULT_CACHE, type CacheOptions } from './options';
import { projectOptionFactories, type ProjectOptionFactories } from './projects';
import type { RetryOptions } from './retry';
import { taskOptionFactories, type TaskOptionFactories } from './tasks';
import { VersionTracker, type VersionTrackerOptions } from './versions';

export interface CqrsClientOptions {
  /** Where each service is: absolute URLs, or paths of the page's origin (a console's proxy). */
  baseUrls: BaseUrls;
  /** The caller's access token, asked for before every request (so a refreshed one is used at once). */
  token?: TokenProvider;
  /** @default globalThis.fetch */
  fetch?: (request: Request) => Promise<Response>;
  /** Retries of queries and commands; see {@link RetryOptions} for the defaults. */
  retry?: RetryOptions;
  /** Default cache lifetimes of every query (each factory takes its own too). */
  cache?: CacheOptions;
  /** Read-your-writes bookkeeping. */
  readYourWrites?: VersionTrackerOptions;
}

/** A client of the system: TanStack Query option factories per context, over typed HTTP clients. */
export interface CqrsClient {
  /** Tasks: `detail`, `myList`, `userList`, `myStats`, `userStats`; `create`, `patch`, `rename`, `start`, `complete`, `abandon`, `delete`. */
  readonly tasks: TaskOptionFactories;
  /** Projects: `detail`, `myList`; `create`, `rename`, `archive`, `addTask`. */
  readonly projects: ProjectOptionFactories;
  /**
   * The projector's admin API (admin role; `baseUrls.admin` needed, else its queries and
   * commands fail with an Error): `projections`, `projection`, `currentRebuild`, `deadLetters`,
   * `deadLetter`, `latestReconciliation`, `relay`; `pause`, `resume`, `startRebuild`,
   * `cancelRebuild`, `redrive`, `discard`, `reconcile`.
   */
  readonly admin: AdminOptionFactories;
  /** The versions this client's commands returned, sent back as `X-Min-Version`. */
  readonly versions: VersionTracker;
  /** The typed openapi-fetch clients underneath (same auth and base URLs). */
  readonly http: ServiceClients;
}

/**
 * Creates a client. One per signed-in user and `QueryClient`: on sign-out, call
 * `queryClient.clear()` and `client.versions.clear()` (the keys say `me`, not who).
 */
export function createCqrsClient(options: CqrsClientOptions): CqrsClient {
  const http = createServiceClients(options);
  const versions = new VersionTracker(options.readYourWrites);
  const context = { http, versions, retry: options.retry ?? {}, cache: { ...DEFAULT_CACHE, ...options.cache } };
  const admin = () => {
    if (!http.admin) throw new Error('@cqrs/client: baseUrls.admin is not set');
    return http.admin;
  };
  return {
    tasks: taskOptionFactories(context),
    projects: projectOptionFactories(context),
    admin: adminOptionFactories(context, admin),
    versions,
    http,
  };
}
