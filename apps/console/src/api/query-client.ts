import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';
import { cqrs } from './client';
import { isUnauthenticated } from './errors';

/** Fired when any query or command gets a 401: the token expired or was refused. */
export const sessionEvents = new EventTarget();
export const UNAUTHENTICATED = 'unauthenticated';

/** The page's one query cache; its handlers hear every failure, so a 401 anywhere ends the session. */
export function createQueryClient(): QueryClient {
  const onError = (error: unknown) => {
    if (isUnauthenticated(error)) sessionEvents.dispatchEvent(new Event(UNAUTHENTICATED));
  };
  return new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
  });
}

/** What the last user saw or wrote must not show for the next one. */
export function forgetUser(queryClient: QueryClient): void {
  queryClient.clear();
  cqrs.versions.clear();
}
