import type { Pool } from 'pg';

/**
 * The corrected values operators gave for parked records (see the `record_overrides` table),
 * looked up per batch by position so every consumer of the topic reads the correction.
 *
 * The table is almost always empty, so whether it has rows at all is remembered for
 * `recheckMs`: a batch then costs no extra round trip. A correction is applied by the redrive
 * that records it; consumers only need it when they meet that position again (a redelivery or a
 * rebuild, which starts with a fresh instance), so the delay is harmless.
 */
export class RecordOverrides {
  private known: { any: boolean; until: number } | undefined;

  /** @param recheckMs how long "the table is empty" (or not) is trusted. @default 5000 */
  constructor(
    private readonly pool: Pool,
    private readonly recheckMs = 5_000,
  ) {}

  /** Corrections for offsets `from`..`to` of a partition, by offset. */
  async forRange(topic: string, partition: number, from: string, to: string): Promise<Map<string, Buffer>> {
    if (!this.known || this.known.until <= Date.now()) {
      const exists = await this.pool.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM record_overrides) AS any`);
      this.known = { any: exists.rows[0]?.any ?? false, until: Date.now() + this.recheckMs };
    }
    if (!this.known.any) return new Map();
    const result = await this.pool.query<{ offset: string; value: Buffer }>(
      `SELECT "offset", value FROM record_overrides WHERE topic = $1 AND "partition" = $2 AND "offset" BETWEEN $3 AND $4`,
      [topic, partition, from, to],
    );
    return new Map(result.rows.map((r) => [r.offset, r.value]));
  }
}
