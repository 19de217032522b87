import type { CqrsMutationOptions } from '@cqrs/client';
import { useMutation } from '@tanstack/react-query';
import { describeError, isUnauthenticated } from '../api/errors';
import { useAnnouncer } from '../shell/announcer';

/**
 * An admin command of `@cqrs/client` (`cqrs.admin.pause()`, …) that says in the live region what
 * it did, or why it was refused; the client's own `onSuccess` still invalidates what it changed.
 */
export function useAdminCommand<D, V>(
  options: CqrsMutationOptions<D, V>,
  /** What to say once it answered: a sentence, or `{ failure }` when the answer says it did not work. */
  done: (variables: V, data: D) => string | { failure: string },
) {
  const announce = useAnnouncer();
  return useMutation({
    ...options,
    onSuccess: async (data, variables, onMutateResult, context) => {
      const said = done(variables, data);
      if (typeof said === 'string') announce.success(said);
      else announce.failure(said.failure);
      await options.onSuccess(data, variables, onMutateResult, context);
    },
    onError: (error) => {
      if (!isUnauthenticated(error)) announce.failure(describeError(error));
    },
  });
}
