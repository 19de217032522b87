import { RequestValidationError } from '@cqrs/http';
import { UUID_PATTERN } from '@cqrs/util';

/** "The read model must reflect at least `version` of stream `streamId`." */
export interface VersionRequirement {
  streamId: string;
  version: number;
}

/** Most requirements one header or query parameter may carry. */
export const MAX_REQUIREMENTS = 20;
const VERSION = /^[1-9]\d{0,15}$/;

/**
 * How a context names its streams in read-your-writes messages: `task`, `taskId`, `/tasks/:id`.
 * Clients read these in 400 and 503 answers, so each context uses its own words.
 */
export interface StreamNaming {
  /** The aggregate, e.g. `task`. */
  noun: string;
  /** Its id field, e.g. `taskId`: requirements read `<taskId>:<version>`, 503 details name it. */
  idField: string;
  /** The route about one aggregate, where a bare version means it, e.g. `/tasks/:id`. */
  itemRoute: string;
}

/** The tasks context's naming: the default, so that its routes and tests need not repeat it. */
export const TASK_STREAM_NAMING: StreamNaming = { noun: 'task', idField: 'taskId', itemRoute: '/tasks/:id' };

/**
 * Parses read-your-writes requirements from the `X-Min-Version` header and the `minVersion`
 * query parameter (either or both). Each is a comma-separated list of `<id>:<version>`; on a
 * route about one aggregate a bare `<version>` means that one. Ids are UUIDs (the command
 * service issues nothing else), versions positive safe integers. Several requirements on one
 * stream keep the highest version.
 *
 * @param defaultStream the aggregate the route is about, if any (already validated)
 * @param naming the words of the 400's messages
 * @throws {RequestValidationError} (400) for a malformed value, naming the field
 */
export function parseMinVersion(
  sources: { header?: string; query?: string },
  defaultStream?: string,
  naming: StreamNaming = TASK_STREAM_NAMING,
): VersionRequirement[] {
  const { noun, idField, itemRoute } = naming;
  const byStream = new Map<string, number>();
  for (const [field, raw] of [
    ['X-Min-Version', sources.header],
    ['minVersion', sources.query],
  ] as const) {
    if (raw === undefined || raw.trim() === '') continue;
    const parts = raw.split(',').map((p) => p.trim());
    if (parts.length > MAX_REQUIREMENTS) throw invalid(field, `at most ${MAX_REQUIREMENTS} requirements`);
    for (const [index, part] of parts.entries()) {
      const colon = part.lastIndexOf(':');
      const streamId = colon === -1 ? defaultStream : part.slice(0, colon);
      const version = colon === -1 ? part : part.slice(colon + 1);
      if (streamId === undefined)
        throw invalid(field, `name the ${noun}: <${idField}>:<version> (the version alone only works on ${itemRoute})`);
      if (!UUID_PATTERN.test(streamId) || !VERSION.test(version) || !Number.isSafeInteger(Number(version))) {
        // Not echoed: the value may be anything, of any length.
        throw invalid(
          field,
          `requirement ${index + 1} is not <${idField}>:<version> with a ${noun} UUID and a positive safe integer version`,
        );
      }
      byStream.set(streamId, Math.max(byStream.get(streamId) ?? 0, Number(version)));
    }
  }
  return [...byStream].map(([streamId, version]) => ({ streamId, version }));
}

const invalid = (field: string, message: string) => new RequestValidationError([{ field, message }]);
