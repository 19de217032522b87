/**
 * What the projector tells the query side, through Postgres NOTIFY, in the same transaction
 * that changes the read model (so a notification is delivered only if the change committed, and
 * only after it is visible).
 */

/** Channel of per-stream change notifications. */
export const TASKS_CHANGED_CHANNEL = 'tasks_changed';
/** Channel on which a rebuild announces that another generation now answers queries. */
export const TASKS_PROJECTION_SWITCHED_CHANNEL = 'tasks_projection_switched';

/** One committed change of a task stream. */
export interface StreamChangedNotice {
  /** The task (stream) id. */
  streamId: string;
  /** The stream version the read model now reflects. */
  version: number;
  /** The task's owner, whose lists and statistics changed with it. */
  ownerId: string;
}

/** Postgres limits a payload to 8000 bytes; leave room for multi-byte characters. */
const MAX_PAYLOAD_BYTES = 7900;

/**
 * Encodes changes as few payloads as fit: `{"g":<generation>,"c":[[streamId,version,ownerId],...]}`.
 * One NOTIFY per stream would cost a round trip each and flood listeners at 10k events/s.
 */
export function encodeChangeNotices(generation: number, notices: readonly StreamChangedNotice[]): string[] {
  const payloads: string[] = [];
  const head = `{"g":${generation},"c":[`;
  let parts: string[] = [];
  let size = head.length + 2;
  for (const n of notices) {
    const part = JSON.stringify([n.streamId, n.version, n.ownerId]);
    const bytes = Buffer.byteLength(part) + 1;
    if (parts.length > 0 && size + bytes > MAX_PAYLOAD_BYTES) {
      payloads.push(`${head}${parts.join(',')}]}`);
      parts = [];
      size = head.length + 2;
    }
    parts.push(part);
    size += bytes;
  }
  if (parts.length > 0) payloads.push(`${head}${parts.join(',')}]}`);
  return payloads;
}

/** Decodes a `tasks_changed` payload; throws on anything else (a listener should log and ignore it). */
export function decodeChangeNotices(payload: string): { generation: number; changes: StreamChangedNotice[] } {
  const parsed = JSON.parse(payload) as { g?: unknown; c?: unknown };
  if (typeof parsed.g !== 'number' || !Array.isArray(parsed.c))
    throw new Error(`not a ${TASKS_CHANGED_CHANNEL} payload`);
  return {
    generation: parsed.g,
    changes: (parsed.c as unknown[]).map((entry) => {
      const [streamId, version, ownerId] = entry as [unknown, unknown, unknown];
      if (typeof streamId !== 'string' || typeof version !== 'number' || typeof ownerId !== 'string') {
        throw new Error(`malformed ${TASKS_CHANGED_CHANNEL} entry: ${JSON.stringify(entry)}`);
      }
      return { streamId, version, ownerId };
    }),
  };
}
