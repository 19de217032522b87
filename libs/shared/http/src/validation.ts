import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import type { FieldError } from './problem-details.filter';

/** 400 with per-field errors; rendered by ProblemDetailsFilter as `VALIDATION_FAILED`. */
export class RequestValidationError extends BadRequestException {
  constructor(readonly errors: FieldError[]) {
    super({ code: 'VALIDATION_FAILED', detail: 'The request is invalid; see errors.', errors });
  }
}

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/**
 * Strict request validation: unknown fields are rejected (not silently dropped), types are
 * checked, and every failure is reported per field.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new RequestValidationError(flatten(errors)),
  });
}
