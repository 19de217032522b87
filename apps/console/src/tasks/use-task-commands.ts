import { queryKeys, type TaskPage, type TaskView } from '@cqrs/client';
import { useMutation, useQueryClient, type MutationFunctionContext } from '@tanstack/react-query';
import { cqrs } from '../api/client';
import { describeError, isStale, isUnauthenticated } from '../api/errors';
import { useAnnouncer } from '../shell/announcer';
import { applyAction, type TaskAction } from './board';

/**
 * The board's commands. Once a command is accepted, its card moves in the cached lists at once;
 * the client's own invalidation then refetches them with the command's version as `X-Min-Version`,
 * so the answer already holds the write and the card never jumps back (read-your-writes).
 */
export function useTaskCommands() {
  const queryClient = useQueryClient();
  const announce = useAnnouncer();
  const moved =
    <V extends { id: string }>(action: TaskAction, onSuccess: (...args: OnSuccessArgs<V>) => Promise<void>) =>
    async (...args: OnSuccessArgs<V>) => {
      queryClient.setQueriesData<TaskPage>({ queryKey: queryKeys.tasks.myLists() }, (page) =>
        page === undefined ? page : { ...page, items: applyAction(page.items, args[1].id, action) },
      );
      await onSuccess(...args);
    };
  const onError = (error: unknown) => {
    // a refused token signs the user out (the query cache's handler); anything else is said here
    if (isUnauthenticated(error)) return;
    announce.failure(describeError(error));
    // refused for the task's state (409), version (412) or existence (404): the board was out of
    // date, so show what the task is now
    if (isStale(error)) void queryClient.invalidateQueries({ queryKey: queryKeys.tasks.all });
  };
  const start = cqrs.tasks.start();
  const complete = cqrs.tasks.complete();
  const abandon = cqrs.tasks.abandon();
  const remove = cqrs.tasks.delete();
  return {
    create: useMutation({ ...cqrs.tasks.create(), onError }),
    start: useMutation({ ...start, onSuccess: moved('start', start.onSuccess), onError }),
    complete: useMutation({ ...complete, onSuccess: moved('complete', complete.onSuccess), onError }),
    abandon: useMutation({ ...abandon, onSuccess: moved('abandon', abandon.onSuccess), onError }),
    delete: useMutation({ ...remove, onSuccess: moved('delete', remove.onSuccess), onError }),
  };
}

type OnSuccessArgs<V> = [
  data: { taskId: string; version: number },
  variables: V,
  onMutateResult: unknown,
  context: MutationFunctionContext,
];

/** The task as shown on a card. */
export type BoardTask = TaskView;
