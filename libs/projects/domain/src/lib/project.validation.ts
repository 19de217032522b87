import { DomainError, identifierProblem, textProblem, type FieldError } from '@cqrs/util';

/** Limits a user can rely on (and an HTTP schema would mirror), counted in Unicode code points. */
export const PROJECT_LIMITS = Object.freeze({
  nameMaxLength: 200,
  idMaxLength: 200,
  /** Tasks one project holds: its state (and snapshot) lists them. */
  maxTasks: 500,
});

/**
 * Collects every broken rule of one command so the client sees them all at once; each check
 * returns the normalised value to put in the event.
 */
export class FieldChecks {
  private readonly errors: FieldError[] = [];

  /** A required, trimmed, bounded single-line text. */
  requiredText(field: string, value: unknown, maxLength: number): string {
    if (typeof value !== 'string' || value.trim() === '') {
      this.errors.push({ field, message: 'is required' });
      return '';
    }
    const trimmed = value.trim();
    const problem = textProblem(trimmed, { maxLength, kind: 'line' });
    if (problem) this.errors.push({ field, message: problem });
    return trimmed;
  }

  /** An identifier: a non-blank string without surrounding whitespace. */
  id(field: string, value: unknown): string {
    const problem = identifierProblem(value, PROJECT_LIMITS.idMaxLength);
    if (problem) this.errors.push({ field, message: problem });
    return String(value);
  }

  /** Throws VALIDATION_FAILED if any check failed. */
  throwIfInvalid(): void {
    if (this.errors.length > 0) throw DomainError.validation(this.errors);
  }
}

/** The input rules of a command that carries nothing but the project's id. */
export function projectIdInput(data: { projectId: string }): void {
  const checks = new FieldChecks();
  checks.id('projectId', data.projectId);
  checks.throwIfInvalid();
}
