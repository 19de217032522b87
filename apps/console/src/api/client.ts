import { createCqrsClient } from '@cqrs/client';
import { readToken } from '../auth/session';

/** The base paths the console server proxies (apps/console/server/routes.ts). */
export const BASE_URLS = { commands: '/api/commands', queries: '/api/queries', admin: '/api/admin' } as const;

/**
 * The page's one API client: every call to the services goes through it, with the signed-in
 * user's token and this tab's read-your-writes versions. Cleared on sign-out with the query cache.
 */
export const cqrs = createCqrsClient({ baseUrls: BASE_URLS, token: readToken });
