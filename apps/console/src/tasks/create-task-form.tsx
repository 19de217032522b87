import { useId, useRef, useState, type FormEvent } from 'react';
import { useAnnouncer } from '../shell/announcer';
import type { useTaskCommands } from './use-task-commands';

type Priority = 'LOW' | 'NORMAL' | 'HIGH';

/** A new task: title (required), description, priority and due date. */
export function CreateTaskForm({ create }: { create: ReturnType<typeof useTaskCommands>['create'] }) {
  const announce = useAnnouncer();
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [priority, setPriority] = useState<Priority>('NORMAL');
  const [dueDate, setDueDate] = useState('');
  const [titleError, setTitleError] = useState<string | null>(null);
  const titleRef = useRef<HTMLInputElement>(null);
  const errorId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = title.trim();
    if (trimmed === '') {
      setTitleError('Enter a title.');
      titleRef.current?.focus();
      return;
    }
    setTitleError(null);
    create.mutate(
      {
        title: trimmed,
        priority,
        ...(description.trim() ? { description } : {}),
        ...(dueDate ? { dueDate } : {}),
      },
      {
        onSuccess: () => {
          announce.success(`Created “${trimmed}”.`);
          setTitle('');
          setDescription('');
          setPriority('NORMAL');
          setDueDate('');
          titleRef.current?.focus();
        },
      },
    );
  };

  return (
    <form className="card create-task" aria-labelledby="create-task-heading" onSubmit={submit} noValidate>
      <h2 id="create-task-heading">New task</h2>
      <div className="create-task-fields">
        <div className="field field-title">
          <label htmlFor="task-title">Title</label>
          <input
            id="task-title"
            ref={titleRef}
            value={title}
            maxLength={200}
            required
            aria-invalid={titleError !== null}
            aria-describedby={titleError ? errorId : undefined}
            onChange={(e) => setTitle(e.target.value)}
          />
          {titleError ? (
            <p id={errorId} className="field-error">
              {titleError}
            </p>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor="task-priority">Priority</label>
          <select id="task-priority" value={priority} onChange={(e) => setPriority(e.target.value as Priority)}>
            <option value="LOW">Low</option>
            <option value="NORMAL">Normal</option>
            <option value="HIGH">High</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="task-due">Due date</label>
          <input id="task-due" type="date" value={dueDate} onChange={(e) => setDueDate(e.target.value)} />
        </div>
        <div className="field field-description">
          <label htmlFor="task-description">Description</label>
          <textarea
            id="task-description"
            rows={2}
            maxLength={2000}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
        </div>
      </div>
      <button className="button button-primary" type="submit" disabled={create.isPending}>
        Create task
      </button>
    </form>
  );
}
