/**
 * A WAL position (Postgres `pg_lsn`) as an unsigned 64-bit integer. Bigint keeps the arithmetic
 * exact; the text form `16/B374D848` is only for logs, SQL and the replication command.
 */
export type Lsn = bigint;

/** The zero position: "wherever the slot is" in START_REPLICATION. */
export const ZERO_LSN: Lsn = 0n;

/** Parses `X/Y` (two hex halves) into an {@link Lsn}; throws on anything else. */
export function parseLsn(text: string): Lsn {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new Error(`not a WAL position (expected X/Y in hex): ${JSON.stringify(text)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Formats an {@link Lsn} the way Postgres prints a `pg_lsn`. */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
