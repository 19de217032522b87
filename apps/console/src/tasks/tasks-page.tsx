import type { TaskView } from '@cqrs/client';
import { useQueries, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { cqrs } from '../api/client';
import { describeError } from '../api/errors';
import { useDocumentTitle } from '../shell/router';
import { COLUMNS, groupByStatus } from './board';
import { CreateTaskForm } from './create-task-form';
import { TaskCard } from './task-card';
import { useTaskCommands } from './use-task-commands';

/** Tasks per page read; the query service's largest page. */
const PAGE_SIZE = 100;

/** The signed-in user's task board: a new-task form, then one column per status. */
export function TasksPage() {
  useDocumentTitle('Tasks');
  const commands = useTaskCommands();
  // one query per page loaded; each is a `@cqrs/client` list query, refetched (with the
  // read-your-writes versions) when a command invalidates the lists
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const pages = useQueries({
    queries: cursors.map((cursor) => cqrs.tasks.myList({ limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) })),
  });
  const stats = useQuery(cqrs.tasks.myStats());
  // a task created meanwhile shifts the pages: the same task may come twice
  const byId = new Map<string, TaskView>();
  for (const page of pages)
    for (const task of page.data?.items ?? []) if (!byId.has(task.taskId)) byId.set(task.taskId, task);
  const tasks = [...byId.values()];
  const columns = groupByStatus(tasks);
  const first = pages[0];
  const nextCursor = pages.at(-1)?.data?.nextCursor ?? null;
  const loadingMore = pages.length > 1 && pages.at(-1)?.isPending;

  return (
    <main id="main" tabIndex={-1} className="page">
      <div className="page-header">
        <h1>Tasks</h1>
        {stats.data ? (
          <p className="page-summary">
            {stats.data.total} {stats.data.total === 1 ? 'task' : 'tasks'} ·{' '}
            {Math.round(stats.data.completionRate * 100)}% completed
          </p>
        ) : null}
      </div>
      <CreateTaskForm create={commands.create} />
      {first?.isPending ? (
        <p className="loading" role="status">
          Loading your tasks…
        </p>
      ) : first?.isError ? (
        <div className="notice notice-error" role="alert">
          <p>Your tasks could not be loaded. {describeError(first.error)}</p>
          <button type="button" className="button button-secondary" onClick={() => void first.refetch()}>
            Try again
          </button>
        </div>
      ) : (
        <div className="board">
          {COLUMNS.map((column) => {
            const items = columns[column.status];
            const headingId = `column-${column.status}`;
            return (
              <section key={column.status} className={`column column-${column.status}`} aria-labelledby={headingId}>
                <div className="column-header">
                  <h2 id={headingId}>{column.label}</h2>
                  <span className="count" aria-hidden="true">
                    {items.length}
                  </span>
                </div>
                {items.length === 0 ? (
                  <p className="column-empty">No tasks.</p>
                ) : (
                  <ul className="column-list" aria-labelledby={headingId}>
                    {items.map((task) => (
                      <li key={task.taskId}>
                        <TaskCard task={task} commands={commands} />
                      </li>
                    ))}
                  </ul>
                )}
              </section>
            );
          })}
        </div>
      )}
      {nextCursor ? (
        <button
          type="button"
          className="button button-secondary load-more"
          disabled={loadingMore}
          onClick={() => setCursors((c) => [...c, nextCursor])}
        >
          Load more tasks
        </button>
      ) : null}
    </main>
  );
}
