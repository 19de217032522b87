import type { Lsn } from './lsn';
import { BYTEA_OID, type ColumnValue, type RelationColumn } from './outbox-routing';

/** A table as pgoutput describes it before its first row in a session (Relation message). */
export interface Relation {
  oid: number;
  schema: string;
  name: string;
  columns: RelationColumn[];
}

/** The pgoutput (protocol version 1) messages the relay acts on; everything else is `other`. */
export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: Lsn; xid: number }
  | { tag: 'commit'; commitLsn: Lsn; endLsn: Lsn }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'insert'; relation: Relation; values: ColumnValue[] }
  | { tag: 'other'; kind: string };

/** The stream carried something this decoder cannot read; continuing would risk skipping a row. */
export class PgoutputProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PgoutputProtocolError';
  }
}

const OTHER_KINDS: Record<number, string> = {
  0x55: 'update',
  0x44: 'delete',
  0x54: 'truncate',
  0x59: 'type',
  0x4f: 'origin',
  0x4d: 'message',
};

/**
 * Decodes pgoutput messages (protocol version 1). Columns come either in their type's text form
 * (`bytea` as hex, `\x...`, turned back into the exact bytes here) or, with the `binary` option,
 * in their binary send form: `bytea` is then the bytes themselves (half the traffic, no hex to
 * parse) and the other types the relay routes on or places in headers are rendered as the text
 * Postgres would have printed, so both modes produce the same records.
 *
 * Values never alias the input buffer: the pg driver reuses its read buffer for later messages.
 */
export class PgoutputDecoder {
  private readonly relations = new Map<number, Relation>();

  /** Decodes one message (the body of an XLogData frame). */
  decode(buf: Buffer): PgoutputMessage {
    const tag = buf[0];
    switch (tag) {
      case 0x42: // B
        return { tag: 'begin', finalLsn: buf.readBigUInt64BE(1), xid: buf.readUInt32BE(17) };
      case 0x43: // C
        return { tag: 'commit', commitLsn: buf.readBigUInt64BE(2), endLsn: buf.readBigUInt64BE(10) };
      case 0x52: // R
        return { tag: 'relation', relation: this.readRelation(buf) };
      case 0x49: // I
        return this.readInsert(buf);
      default: {
        const kind = tag === undefined ? undefined : OTHER_KINDS[tag];
        if (kind) return { tag: 'other', kind };
        throw new PgoutputProtocolError(`unknown pgoutput message type 0x${(tag ?? 0).toString(16)}`);
      }
    }
  }

  private readRelation(buf: Buffer): Relation {
    const oid = buf.readUInt32BE(1);
    let offset = 5;
    const readString = () => {
      const end = buf.indexOf(0, offset);
      if (end < 0) throw new PgoutputProtocolError('truncated Relation message');
      const text = buf.toString('utf8', offset, end);
      offset = end + 1;
      return text;
    };
    const schema = readString();
    const name = readString();
    offset += 1; // replica identity setting
    const count = buf.readUInt16BE(offset);
    offset += 2;
    const columns: RelationColumn[] = [];
    for (let i = 0; i < count; i++) {
      offset += 1; // flags (part of the key)
      const columnName = readString();
      const typeOid = buf.readUInt32BE(offset);
      offset += 8; // type oid + type modifier
      columns.push({ name: columnName, typeOid });
    }
    const relation = { oid, schema, name, columns };
    this.relations.set(oid, relation);
    return relation;
  }

  private readInsert(buf: Buffer): PgoutputMessage {
    const relation = this.relations.get(buf.readUInt32BE(1));
    if (!relation)
      throw new PgoutputProtocolError(`Insert for relation ${buf.readUInt32BE(1)} before its Relation message`);
    // buf[5] is 'N' (new tuple)
    const count = buf.readUInt16BE(6);
    let offset = 8;
    const values: ColumnValue[] = new Array<ColumnValue>(count);
    for (let i = 0; i < count; i++) {
      const kind = buf[offset];
      offset += 1;
      if (kind === 0x6e) {
        values[i] = null; // n
      } else if (kind === 0x75) {
        values[i] = undefined; // u: unchanged TOAST (never in an insert)
      } else if (kind === 0x74 || kind === 0x62) {
        const length = buf.readUInt32BE(offset);
        offset += 4;
        const end = offset + length;
        if (end > buf.length) throw new PgoutputProtocolError('truncated Insert message');
        const column = relation.columns[i];
        if (kind === 0x62) values[i] = decodeBinary(column, buf, offset, end);
        else if (column?.typeOid === BYTEA_OID) values[i] = decodeByteaText(buf, offset, end);
        else values[i] = buf.toString('utf8', offset, end);
        offset = end;
      } else {
        throw new PgoutputProtocolError(`unknown tuple column kind 0x${(kind ?? 0).toString(16)}`);
      }
    }
    return { tag: 'insert', relation, values };
  }
}

const TEXT_TYPES = new Set([25, 1043, 1042, 19, 114]); // text, varchar, bpchar, name, json
const PG_EPOCH_MS = 946_684_800_000;

/**
 * A column's binary send form as the value the relay works with: bytes for `bytea`, otherwise
 * the text Postgres prints for it (DateStyle=ISO, UTC). Types outside this list cannot be
 * rendered faithfully here and stop the stream with the fix in the message.
 */
export function decodeBinary(
  column: RelationColumn | undefined,
  buf: Buffer,
  start: number,
  end: number,
): string | Buffer {
  const oid = column?.typeOid;
  switch (oid) {
    case BYTEA_OID: {
      const bytes = Buffer.allocUnsafe(end - start);
      buf.copy(bytes, 0, start, end);
      return bytes;
    }
    case 2950: {
      const hex = buf.toString('hex', start, end);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    case 21:
      return String(buf.readInt16BE(start));
    case 23:
    case 26:
      return String(oid === 26 ? buf.readUInt32BE(start) : buf.readInt32BE(start));
    case 20:
      return buf.readBigInt64BE(start).toString();
    case 16:
      return buf[start] ? 't' : 'f';
    case 3802: // jsonb: a version byte, then the JSON text
      return buf.toString('utf8', start + 1, end);
    case 1184:
    case 1114:
      return formatPgTimestamp(buf.readBigInt64BE(start), oid === 1184);
    default:
      if (oid !== undefined && TEXT_TYPES.has(oid)) return buf.toString('utf8', start, end);
      throw new PgoutputProtocolError(
        `column ${column?.name ?? '?'} (type oid ${oid}) arrives in binary, which the relay cannot render as text: set OUTBOX_BINARY_TUPLES=false`,
      );
  }
}

// The rows of one transaction share its timestamp (now()): the last one formatted is remembered.
let lastTimestamp = { micros: -1n, withZone: false, text: '' };

/** Microseconds since 2000-01-01 as Postgres prints a timestamp in ISO style and UTC. */
function formatPgTimestamp(micros: bigint, withZone: boolean): string {
  if (micros === lastTimestamp.micros && withZone === lastTimestamp.withZone) return lastTimestamp.text;
  const text = formatPgTimestampOnce(micros, withZone);
  lastTimestamp = { micros, withZone, text };
  return text;
}

function formatPgTimestampOnce(micros: bigint, withZone: boolean): string {
  if (micros === 0x7fffffffffffffffn) return 'infinity';
  if (micros === -0x8000000000000000n) return '-infinity';
  let seconds = micros / 1_000_000n;
  let fraction = micros % 1_000_000n;
  if (fraction < 0n) {
    fraction += 1_000_000n;
    seconds -= 1n;
  }
  const iso = new Date(Number(seconds) * 1000 + PG_EPOCH_MS).toISOString(); // yyyy-mm-ddThh:mm:ss.sssZ
  const frac = fraction ? `.${String(fraction).padStart(6, '0').replace(/0+$/, '')}` : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac}${withZone ? '+00' : ''}`;
}

/** `bytea` text output to bytes: hex (`\x0a1b`) or, should bytea_output be `escape`, the escape format. */
export function decodeByteaText(buf: Buffer, start: number, end: number): Buffer {
  if (end - start >= 2 && buf[start] === 0x5c && buf[start + 1] === 0x78) {
    return Buffer.from(buf.toString('latin1', start + 2, end), 'hex');
  }
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; ) {
    const byte = buf[i]!;
    if (byte !== 0x5c) {
      out[n++] = byte;
      i += 1;
    } else if (buf[i + 1] === 0x5c) {
      out[n++] = 0x5c;
      i += 2;
    } else {
      out[n++] = ((buf[i + 1]! - 48) << 6) | ((buf[i + 2]! - 48) << 3) | (buf[i + 3]! - 48);
      i += 4;
    }
  }
  return Buffer.from(out.subarray(0, n));
}
