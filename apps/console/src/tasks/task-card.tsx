import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useAnnouncer } from '../shell/announcer';
import { actionsFor, statusLabel, type TaskAction } from './board';
import type { BoardTask, useTaskCommands } from './use-task-commands';

const PRIORITY_LABEL = { LOW: 'Low', NORMAL: 'Normal', HIGH: 'High' } as const;
const ACTION_LABEL: Record<TaskAction, string> = {
  start: 'Start',
  complete: 'Complete',
  abandon: 'Abandon',
  delete: 'Delete',
};
const DONE_LABEL: Record<TaskAction, string> = {
  start: 'Started',
  complete: 'Completed',
  abandon: 'Abandoned',
  delete: 'Deleted',
};

const formatDate = (iso: string) => {
  const date = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleDateString(undefined, { dateStyle: 'medium' });
};

/**
 * A card that moved to another column is a new element, and the button that moved it is gone: the
 * focus goes to the moved card's first button (or to the board when the task was deleted), so a
 * keyboard user is not sent back to the top of the page.
 */
function keepFocus(taskId: string): void {
  // after the next paint: the moved card's buttons are re-enabled only once the mutation settled
  requestAnimationFrame(() => {
    if (document.activeElement !== null && document.activeElement !== document.body) return;
    const card = document.querySelector<HTMLElement>(`[data-task-id="${CSS.escape(taskId)}"]`);
    (card?.querySelector<HTMLElement>('button') ?? document.getElementById('main'))?.focus();
  });
}

/** One task: an `article` named by its title, with the commands its status allows. */
export function TaskCard({ task, commands }: { task: BoardTask; commands: ReturnType<typeof useTaskCommands> }) {
  const announce = useAnnouncer();
  const headingId = useId();
  const [abandoning, setAbandoning] = useState(false);
  const pending = [commands.start, commands.complete, commands.abandon, commands.delete].some(
    (m) => m.isPending && m.variables?.id === task.taskId,
  );
  const done = (action: TaskAction) => () => {
    announce.success(`${DONE_LABEL[action]} “${task.title}”.`);
    keepFocus(task.taskId);
  };
  const run = (action: Exclude<TaskAction, 'abandon'>) =>
    commands[action].mutate({ id: task.taskId }, { onSuccess: done(action) });

  return (
    <article
      className={`task task-${task.status}`}
      aria-labelledby={headingId}
      aria-busy={pending}
      data-task-id={task.taskId}
    >
      <h3 id={headingId} className="task-title">
        {task.title}
      </h3>
      {task.description ? <p className="task-description">{task.description}</p> : null}
      <dl className="task-meta">
        <div>
          <dt>Priority</dt>
          <dd className={`priority priority-${task.priority.toLowerCase()}`}>{PRIORITY_LABEL[task.priority]}</dd>
        </div>
        {task.dueDate ? (
          <div>
            <dt>Due</dt>
            <dd>
              <time dateTime={task.dueDate}>{formatDate(task.dueDate)}</time>
            </dd>
          </div>
        ) : null}
        <div className="visually-hidden">
          <dt>Status</dt>
          <dd>{statusLabel(task.status)}</dd>
        </div>
      </dl>
      {task.status === 'abandoned' && task.abandonReason ? (
        <p className="task-reason">
          <span className="task-reason-label">Reason:</span> {task.abandonReason}
        </p>
      ) : null}
      <div className="task-actions">
        {actionsFor(task.status).map((action) => (
          <button
            key={action}
            type="button"
            className={`button button-small ${action === 'delete' ? 'button-danger' : action === 'abandon' ? 'button-quiet' : 'button-secondary'}`}
            disabled={pending}
            onClick={() => (action === 'abandon' ? setAbandoning(true) : run(action))}
          >
            {ACTION_LABEL[action]}
          </button>
        ))}
      </div>
      {abandoning ? (
        <AbandonDialog
          title={task.title}
          onCancel={() => setAbandoning(false)}
          onConfirm={(reason) => {
            setAbandoning(false);
            commands.abandon.mutate({ id: task.taskId, reason }, { onSuccess: done('abandon') });
          }}
        />
      ) : null}
    </article>
  );
}

/** Asks for the reason an abandon needs, in a modal dialog (focus stays inside; Escape cancels). */
function AbandonDialog({
  title,
  onCancel,
  onConfirm,
}: {
  title: string;
  onCancel: () => void;
  onConfirm: (reason: string) => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingId = useId();
  const errorId = useId();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const dialog = ref.current;
    // the dialog leaves the DOM when closed, so the browser cannot give focus back by itself
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog?.showModal();
    return () => {
      dialog?.close();
      opener?.focus();
    };
  }, []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = reason.trim();
    if (trimmed === '') {
      setError('Say why the task is abandoned.');
      return;
    }
    onConfirm(trimmed);
  };
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={headingId} onCancel={onCancel}>
      <form onSubmit={submit} noValidate>
        <h2 id={headingId}>Abandon “{title}”</h2>
        <div className="field">
          <label htmlFor={`${headingId}-reason`}>Reason</label>
          <textarea
            id={`${headingId}-reason`}
            rows={3}
            maxLength={500}
            value={reason}
            required
            aria-invalid={error !== null}
            aria-describedby={error ? errorId : undefined}
            onChange={(e) => setReason(e.target.value)}
          />
          {error ? (
            <p id={errorId} className="field-error">
              {error}
            </p>
          ) : null}
        </div>
        <div className="dialog-actions">
          <button type="button" className="button button-secondary" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="button button-danger">
            Abandon task
          </button>
        </div>
      </form>
    </dialog>
  );
}
