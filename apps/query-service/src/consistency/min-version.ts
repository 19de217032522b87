import { RequestValidationError } from '@cqrs/http';

/** "The read model must reflect at least `version` of stream `streamId`." */
export interface VersionRequirement {
  streamId: string;
  version: number;
}

const MAX_REQUIREMENTS = 20;
const VERSION = /^[1-9]\d{0,15}$/;

/**
 * Parses read-your-writes requirements from the `X-Min-Version` header and the `minVersion`
 * query parameter (either or both). Each is a comma-separated list of `<taskId>:<version>`; on a
 * route about one task a bare `<version>` means that task. Several requirements on one stream
 * keep the highest version.
 *
 * @param defaultStream the task the route is about, if any
 * @throws {RequestValidationError} (400) for a malformed value, naming the field
 */
export function parseMinVersion(
  sources: { header?: string; query?: string },
  defaultStream?: string,
): VersionRequirement[] {
  const byStream = new Map<string, number>();
  for (const [field, raw] of [
    ['X-Min-Version', sources.header],
    ['minVersion', sources.query],
  ] as const) {
    if (raw === undefined || raw.trim() === '') continue;
    const parts = raw.split(',').map((p) => p.trim());
    if (parts.length > MAX_REQUIREMENTS) throw invalid(field, `at most ${MAX_REQUIREMENTS} requirements`);
    for (const part of parts) {
      const colon = part.lastIndexOf(':');
      const streamId = colon === -1 ? defaultStream : part.slice(0, colon);
      const version = colon === -1 ? part : part.slice(colon + 1);
      if (streamId === undefined) throw invalid(field, 'name the task: <taskId>:<version> (the version alone only works on /tasks/:id)');
      if (streamId === '' || !VERSION.test(version)) throw invalid(field, `'${part}' is not <taskId>:<version> with a positive version`);
      byStream.set(streamId, Math.max(byStream.get(streamId) ?? 0, Number(version)));
    }
  }
  return [...byStream].map(([streamId, version]) => ({ streamId, version }));
}

const invalid = (field: string, message: string) => new RequestValidationError([{ field, message }]);
