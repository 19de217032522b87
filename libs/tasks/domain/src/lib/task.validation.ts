import { DomainError, identifierProblem, textProblem, type FieldError } from '@cqrs/util';
import { TASK_PRIORITIES, type TaskPriority } from './task.events';

/** Limits a user can rely on (and the HTTP schema mirrors), counted in Unicode code points. */
export const TASK_LIMITS = Object.freeze({
  titleMaxLength: 200,
  descriptionMaxLength: 2000,
  reasonMaxLength: 500,
  idMaxLength: 200,
});

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** True for a real calendar date (`2025-02-29` is not) or a date-time with an explicit offset. */
export function isIsoDate(value: string): boolean {
  const match = DATE.exec(value) ?? DATE_TIME.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * Collects every broken rule of one command so the client sees them all at once; each check
 * returns the normalised value to put in the event.
 */
export class FieldChecks {
  private readonly errors: FieldError[] = [];

  /** A required, trimmed, bounded text (title, reason). */
  requiredText(field: string, value: unknown, maxLength: number): string {
    if (typeof value !== 'string' || value.trim() === '') {
      this.errors.push({ field, message: 'is required' });
      return '';
    }
    const trimmed = value.trim();
    this.check(field, textProblem(trimmed, { maxLength, kind: 'line' }));
    return trimmed;
  }

  /** An optional bounded multi-line text; blank means "no value" (null). Kept untrimmed: whitespace may be formatting. */
  optionalText(field: string, value: unknown, maxLength: number): string | null {
    if (value === null || value === undefined) return null;
    if (typeof value !== 'string') {
      this.errors.push({ field, message: 'must be a string' });
      return null;
    }
    if (value.trim() === '') return null;
    this.check(field, textProblem(value, { maxLength, kind: 'multiline' }));
    return value;
  }

  /** An optional ISO-8601 date or date-time; null means "no due date". */
  optionalDate(field: string, value: unknown): string | null {
    if (value === null || value === undefined) return null;
    if (typeof value !== 'string' || !isIsoDate(value)) {
      this.errors.push({ field, message: 'must be an ISO-8601 date (YYYY-MM-DD) or date-time with offset' });
      return null;
    }
    return value;
  }

  priority(field: string, value: unknown): TaskPriority {
    if (TASK_PRIORITIES.includes(value as TaskPriority)) return value as TaskPriority;
    this.errors.push({ field, message: `must be one of ${TASK_PRIORITIES.join(', ')}` });
    return 'NORMAL';
  }

  /** An identifier (task id, owner id): a non-blank string without surrounding whitespace. */
  id(field: string, value: unknown): string {
    this.check(field, identifierProblem(value, TASK_LIMITS.idMaxLength));
    return String(value);
  }

  fail(field: string, message: string): void {
    this.errors.push({ field, message });
  }

  private check(field: string, problem: string | null): void {
    if (problem) this.errors.push({ field, message: problem });
  }

  /** Throws VALIDATION_FAILED if any check failed. */
  throwIfInvalid(): void {
    if (this.errors.length > 0) throw DomainError.validation(this.errors);
  }
}
