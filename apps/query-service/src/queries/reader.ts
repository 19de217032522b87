import { IDENTIFIER_PATTERN, RequestValidationError } from '@cqrs/http';
import { DomainError, identifierProblem } from '@cqrs/util';
import { Param } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';

/** Who reads (the authenticated `Principal` is one): an aggregate is visible to its owner, or to an admin. */
export interface Reader {
  subject: string;
  admin: boolean;
}

/** Whose streams a read-your-writes wait may see: the reader's own, or all (`undefined`) for an admin. */
export const visibleTo = (reader: Reader): string | undefined => (reader.admin ? undefined : reader.subject);

/** Whether the reader may see what `ownerId` owns. */
export const mayRead = (reader: Reader, ownerId: string): boolean => reader.admin || reader.subject === ownerId;

/**
 * 403 FORBIDDEN unless the reader is `ownerId` or an admin. The same 403 whoever `ownerId` is
 * (existing or not), so it tells nothing about other users.
 * @param detail the problem's `detail`, e.g. where callers read their own instead
 */
export function requireOwnerOrAdmin(reader: Reader, ownerId: string, detail: string): void {
  if (mayRead(reader, ownerId)) return;
  throw new DomainError('FORBIDDEN', 'forbidden', detail);
}

/**
 * A path parameter naming an owner, under the rules owner ids are created with
 * (`identifierProblem`): 400 VALIDATION_FAILED naming it otherwise. Pair with {@link ApiOwnerIdParam}.
 */
export const OwnerIdParam = (name: string, maxLength: number) =>
  Param(name, {
    transform: (value: string) => {
      const problem = identifierProblem(value, maxLength);
      if (problem) throw new RequestValidationError([{ field: name, message: problem }]);
      return value;
    },
  });

/** Documents an {@link OwnerIdParam}: its length and `identifierProblem`'s rules as a pattern. */
export const ApiOwnerIdParam = (name: string, maxLength: number, description: string) =>
  ApiParam({ name, description, schema: { type: 'string', minLength: 1, maxLength, pattern: IDENTIFIER_PATTERN } });
