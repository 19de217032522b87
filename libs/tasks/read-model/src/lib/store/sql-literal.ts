import { escapeLiteral } from 'pg';

/** A value the read-model writer puts into a statement. */
export type SqlValue = string | number | bigint | boolean | Date | Buffer | null | undefined;

const scalarText = (value: Exclude<SqlValue, null | undefined>): string => {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
    return String(value);
  }
  if (value instanceof Date) return value.toISOString();
  return `\\x${value.toString('hex')}`; // bytea, hex format
};

// Inside an array literal every element is double-quoted, with `\` and `"` backslash-escaped;
// an unquoted NULL is the null element.
const arrayElement = (value: SqlValue): string =>
  value === null || value === undefined ? 'NULL' : `"${scalarText(value).replace(/[\\"]/g, '\\$&')}"`;

/**
 * `value` as an SQL literal with an explicit cast (`'…'::text`, `'{…}'::bigint[]`, `NULL::int`),
 * for statements sent with the simple query protocol: that protocol runs several statements
 * (`BEGIN; …` or `…; COMMIT`) in one round trip, which the extended protocol of node-postgres
 * (one statement per round trip) cannot. Quoting goes through pg's `escapeLiteral`.
 */
export function sqlLiteral(value: SqlValue | readonly SqlValue[], cast: string): string {
  if (!/^[a-z][a-z0-9 ]*(\[\])?$/.test(cast)) throw new TypeError(`unexpected cast: ${cast}`);
  if (value === null || value === undefined) return `NULL::${cast}`;
  if (Array.isArray(value)) return `${escapeLiteral(`{${value.map(arrayElement).join(',')}}`)}::${cast}`;
  return `${escapeLiteral(scalarText(value as Exclude<SqlValue, null | undefined>))}::${cast}`;
}
