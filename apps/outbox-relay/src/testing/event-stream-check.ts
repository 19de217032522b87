import { Client } from 'pg';
import { fakeAvroPayload } from './outbox-test-db';
import type { ReadRecord } from './kafka-topic-reader';

/**
 * Writes `total` outbox events for `aggregates` aggregates (versions 1, 2, ... per aggregate) in
 * small transactions, at about `perSecond`. Returns the ids, aggregate ids and versions written.
 */
export async function writeEvents(
  ownerUrl: string,
  options: { total: number; aggregates: number; perSecond: number; aggregateType: string; aggregatePrefix?: string },
) {
  const client = new Client({ connectionString: ownerUrl });
  await client.connect();
  const versions = new Map<string, number>();
  const written: { aggregateId: string; version: number }[] = [];
  const started = Date.now();
  try {
    for (let n = 0; n < options.total; ) {
      const size = Math.min(1 + (n % 5), options.total - n); // 1 to 5 events per transaction
      const values: string[] = [];
      const params: unknown[] = [];
      for (let i = 0; i < size; i++) {
        const aggregateId = `${options.aggregatePrefix ?? 'agg'}-${(n + i) % options.aggregates}`;
        const version = (versions.get(aggregateId) ?? 0) + 1;
        versions.set(aggregateId, version);
        written.push({ aggregateId, version });
        params.push(options.aggregateType, aggregateId, fakeAvroPayload((n + i) % 2 ? 300 : 2048), version);
        const p = params.length;
        values.push(`(gen_random_uuid(), $${p - 3}, $${p - 2}, 'TaskCreated', $${p - 1}, $${p})`);
      }
      await client.query(
        `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, aggregateversion) VALUES ${values.join(', ')}`,
        params,
      );
      n += size;
      const due = started + (n / options.perSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return { written, versions, endLsn: rows[0]!.lsn };
  } finally {
    await client.end();
  }
}

/** What a consumer of the topic would notice about delivery. */
export interface DeliveryReport {
  written: number;
  received: number;
  /** Events written but not on Kafka (must be 0: loss). */
  missing: number;
  /** Records beyond the first copy of each event (at-least-once). */
  duplicates: number;
  /** Aggregates where a new version arrived before an earlier one had (must be 0). */
  orderViolations: number;
}

/**
 * Checks at-least-once, per-key order: in each key's partition order, every record is either the
 * next new version or a re-delivery of one already seen (a replay after a crash), never a gap.
 */
export function checkDelivery(versions: Map<string, number>, records: ReadRecord[]): DeliveryReport {
  const byKey = new Map<string, ReadRecord[]>();
  for (const r of records) byKey.set(r.key ?? '', [...(byKey.get(r.key ?? '') ?? []), r]);
  let missing = 0;
  let duplicates = 0;
  let orderViolations = 0;
  let written = 0;
  for (const [key, last] of versions) {
    written += last;
    const list = (byKey.get(key) ?? []).sort((a, b) => Number(a.offset) - Number(b.offset));
    let highest = 0;
    let violated = false;
    for (const r of list) {
      const version = Number(r.headers['aggregateVersion']);
      if (version === highest + 1) highest = version;
      else if (version <= highest) duplicates++;
      else violated = true;
    }
    if (violated) orderViolations++;
    missing += last - highest;
  }
  return { written, received: records.length, missing, duplicates, orderViolations };
}
