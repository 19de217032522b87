/**
 * What a stream projection tells the query side through Postgres NOTIFY, in the transaction that
 * changed its tables: a notification is delivered only if the change committed, and only after
 * it is visible. Payload: `{"c":[[streamId,version],...]}`, the last version of each stream.
 */

/** One committed change of a stream: the version its read model now reflects. */
export interface StreamChange {
  streamId: string;
  version: number;
}

/** Postgres limits a payload to 8000 bytes; leave room. */
const MAX_PAYLOAD_BYTES = 7900;

/** Encodes changes as few payloads as fit (one NOTIFY per stream would flood the listeners). */
export function encodeStreamChanges(changes: readonly StreamChange[]): string[] {
  const payloads: string[] = [];
  let parts: string[] = [];
  let size = 8;
  for (const c of changes) {
    const part = JSON.stringify([c.streamId, c.version]);
    const bytes = Buffer.byteLength(part) + 1;
    if (parts.length > 0 && size + bytes > MAX_PAYLOAD_BYTES) {
      payloads.push(`{"c":[${parts.join(',')}]}`);
      parts = [];
      size = 8;
    }
    parts.push(part);
    size += bytes;
  }
  if (parts.length > 0) payloads.push(`{"c":[${parts.join(',')}]}`);
  return payloads;
}

/** Decodes a payload of {@link encodeStreamChanges}; throws on anything else (log it and go on). */
export function decodeStreamChanges(payload: string): StreamChange[] {
  const parsed = JSON.parse(payload) as { c?: unknown };
  if (!Array.isArray(parsed.c)) throw new Error('not a stream change payload');
  return parsed.c.map((entry: unknown) => {
    const [streamId, version] = Array.isArray(entry) ? (entry as unknown[]) : [];
    if (typeof streamId !== 'string' || typeof version !== 'number' || !Number.isSafeInteger(version))
      throw new Error(`malformed stream change: ${JSON.stringify(entry)}`);
    return { streamId, version };
  });
}
