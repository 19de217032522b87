import type { PartitionedRecord } from './kafka-publisher';
import type { Lsn } from './lsn';
import { BYTEA_OID, OutboxRouter } from './outbox-routing';
import type { PgoutputMessage, Relation } from './pgoutput-decoder';
import type { ReplicationHandlers } from './replication-stream';
import { RelaySession, type SessionPublisher, type SessionStream } from './relay-session';

// The session's protocol against stand-ins for the replication connection and Kafka: what it
// confirms to Postgres, and when, is the at-least-once guarantee.
const relation: Relation = {
  oid: 1,
  schema: 'public',
  name: 'outbox',
  columns: ['id', 'aggregatetype', 'aggregateid', 'type', 'payload'].map((name) => ({
    name,
    typeOid: name === 'payload' ? BYTEA_OID : 25,
  })),
};
const row = (id: string, key = 'k1'): PgoutputMessage => ({
  tag: 'insert',
  relation,
  values: [id, 'tasks.task', key, 'T', Buffer.from(id)],
});

class FakeStream implements SessionStream {
  handlers!: ReplicationHandlers;
  statuses: { written: Lsn; flushed: Lsn }[] = [];
  paused = false;
  private end!: (error: Error) => void;
  stream(_slot: string, _publication: string, _start: Lsn, handlers: ReplicationHandlers): Promise<void> {
    this.handlers = handlers;
    return new Promise((_, reject) => (this.end = reject));
  }
  sendStatus(written: Lsn, flushed: Lsn): void {
    this.statuses.push({ written, flushed });
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  async close(): Promise<void> {
    this.end(new Error('closed'));
  }
  get flushed(): Lsn {
    return this.statuses.at(-1)?.flushed ?? 0n;
  }
}

class FakeKafka implements SessionPublisher {
  sent: string[][] = [];
  failuresLeft = 0;
  gate: Promise<void> = Promise.resolve();
  async partitionsOf(): Promise<number> {
    return 6;
  }
  partitionFor(): number {
    return 0;
  }
  async send(batch: PartitionedRecord[]): Promise<void> {
    await this.gate;
    this.sent.push(batch.map((b) => b.record.headers['id'] ?? ''));
    if (this.failuresLeft-- > 0) throw new Error('broker unavailable');
  }
  resetProducer(): Promise<void> {
    return Promise.resolve();
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

function startSession(options: { maxBufferedEvents?: number; confirmIntervalMs?: number; lingerMs?: number } = {}) {
  const stream = new FakeStream();
  const kafka = new FakeKafka();
  const failures: unknown[] = [];
  const session = new RelaySession(
    stream,
    new OutboxRouter('${aggregatetype}.events', []),
    kafka,
    {
      slot: 's',
      publication: 'p',
      batchMaxEvents: 100,
      batchMaxPartitionBytes: 1 << 20,
      maxBufferedEvents: options.maxBufferedEvents ?? 100,
      statusIntervalMs: 60_000,
      confirmIntervalMs: options.confirmIntervalMs ?? 0,
      lingerMs: options.lingerMs ?? 0,
      retryMaxMs: 1,
      binaryTuples: true,
    },
    0x100n,
    {
      started: () => undefined,
      confirmed: () => undefined,
      published: () => undefined,
      publishFailed: (e) => failures.push(e),
    },
    { debug: () => undefined, log: () => undefined, warn: () => undefined, error: () => undefined },
  );
  const running = session.run(0x100n).catch(() => undefined);
  return { stream, kafka, session, failures, running };
}

describe('RelaySession', () => {
  it('confirms a transaction to Postgres only after Kafka acknowledged all of its rows', async () => {
    const { stream, kafka, session, running } = startSession();
    let release!: () => void;
    kafka.gate = new Promise((resolve) => (release = resolve));
    for (const m of [
      { tag: 'begin', finalLsn: 0x200n, xid: 1 },
      { tag: 'relation', relation },
      row('e1'),
      row('e2'),
      { tag: 'commit', commitLsn: 0x1f0n, endLsn: 0x200n },
    ] as PgoutputMessage[]) {
      stream.handlers.message(m);
    }
    await settle();
    expect(stream.flushed).toBeLessThan(0x200n);
    release();
    await settle();
    expect(kafka.sent).toEqual([['e1', 'e2']]);
    expect(stream.flushed).toBe(0x200n);
    await session.drainAndClose(100);
    await running;
  });

  it('retries a failed batch, unchanged and in order, and confirms nothing until it succeeds', async () => {
    const { stream, kafka, session, failures, running } = startSession();
    kafka.failuresLeft = 2;
    stream.handlers.message({ tag: 'relation', relation });
    stream.handlers.message({ tag: 'begin', finalLsn: 0x300n, xid: 1 });
    stream.handlers.message(row('e1'));
    stream.handlers.message(row('e2'));
    stream.handlers.message({ tag: 'commit', commitLsn: 0x2f0n, endLsn: 0x300n });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(kafka.sent).toEqual([
      ['e1', 'e2'],
      ['e1', 'e2'],
      ['e1', 'e2'],
    ]);
    expect(failures).toHaveLength(2);
    expect(stream.statuses.filter((s) => s.flushed > 0x100n).every((s) => s.flushed === 0x300n)).toBe(true);
    expect(stream.flushed).toBe(0x300n);
    await session.drainAndClose(100);
    await running;
  });

  it('ignores deletes and confirms an idle keepalive position, but not one inside a transaction', async () => {
    const { stream, session, running } = startSession();
    stream.handlers.message({ tag: 'begin', finalLsn: 0x500n, xid: 1 });
    stream.handlers.message({ tag: 'other', kind: 'delete' });
    stream.handlers.keepalive(0x450n, false);
    expect(stream.flushed).toBe(0n); // nothing confirmed mid-transaction
    stream.handlers.message({ tag: 'commit', commitLsn: 0x4f0n, endLsn: 0x500n });
    expect(stream.flushed).toBe(0x500n);
    stream.handlers.keepalive(0x900n, false);
    expect(stream.flushed).toBe(0x900n);
    await session.drainAndClose(100);
    await running;
  });

  it('stops reading when the buffer is full and resumes once Kafka catches up', async () => {
    const { stream, kafka, session, running } = startSession({ maxBufferedEvents: 2 });
    let release!: () => void;
    kafka.gate = new Promise((resolve) => (release = resolve));
    stream.handlers.message({ tag: 'relation', relation });
    stream.handlers.message(row('e1'));
    stream.handlers.message(row('e2'));
    expect(stream.paused).toBe(true);
    release();
    await settle();
    expect(stream.paused).toBe(false);
    expect(session.pending).toBe(0);
    await session.drainAndClose(100);
    await running;
  });

  it('reports acknowledged positions at most once per confirm interval, always with the latest', async () => {
    const { stream, session, running } = startSession({ confirmIntervalMs: 150 });
    stream.handlers.message({ tag: 'relation', relation });
    const commit = (i: number) => {
      const end = BigInt(0x1000 + i * 0x100);
      stream.handlers.message({ tag: 'begin', finalLsn: end, xid: i });
      stream.handlers.message(row(`e${i}`));
      stream.handlers.message({ tag: 'commit', commitLsn: end - 1n, endLsn: end });
    };
    commit(1);
    await settle();
    expect(stream.flushed).toBe(0x1100n); // the first one goes at once
    for (let i = 2; i <= 5; i++) {
      commit(i);
      await settle();
    }
    expect(stream.flushed).toBe(0x1100n); // the rest wait for the interval...
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stream.flushed).toBe(0x1500n); // ...and then go as one update with the latest position
    expect(stream.statuses.filter((s) => s.flushed > 0x100n).map((s) => s.flushed)).toEqual([0x1100n, 0x1500n]);
    await session.drainAndClose(100);
    await running;
  });

  it('lingers while rows keep coming, so rows of transactions committed together share one send', async () => {
    const { stream, kafka, session, running } = startSession({ lingerMs: 40 });
    stream.handlers.message({ tag: 'relation', relation });
    stream.handlers.message(row('e0', 'a'));
    await new Promise((resolve) => setTimeout(resolve, 10)); // the first row after a quiet moment: sent at once
    expect(kafka.sent).toEqual([['e0']]);
    stream.handlers.message(row('e1', 'a')); // soon after that send: traffic is busy, the relay lingers
    await new Promise((resolve) => setTimeout(resolve, 10));
    stream.handlers.message(row('e2', 'b'));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(kafka.sent).toEqual([['e0'], ['e1', 'e2']]);
    await new Promise((resolve) => setTimeout(resolve, 100)); // quiet again
    stream.handlers.message(row('e3', 'a'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(kafka.sent).toEqual([['e0'], ['e1', 'e2'], ['e3']]);
    await session.drainAndClose(100);
    await running;
  });

  it('ends when the connection ends, reporting why', async () => {
    const stream = new FakeStream();
    const session = new RelaySession(
      stream,
      new OutboxRouter('${aggregatetype}.events', []),
      new FakeKafka(),
      {
        slot: 's',
        publication: 'p',
        batchMaxEvents: 1,
        batchMaxPartitionBytes: 1024,
        maxBufferedEvents: 1,
        statusIntervalMs: 60_000,
        confirmIntervalMs: 0,
        lingerMs: 0,
        retryMaxMs: 1,
        binaryTuples: true,
      },
      0n,
      {
        started: () => undefined,
        confirmed: () => undefined,
        published: () => undefined,
        publishFailed: () => undefined,
      },
      { debug: () => undefined, log: () => undefined, warn: () => undefined, error: () => undefined },
    );
    const running = session.run(0n);
    await stream.close();
    await expect(running).rejects.toThrow('closed');
  });
});
