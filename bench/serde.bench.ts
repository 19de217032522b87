/**
 * `npm run bench:serde`: encode and decode rates of the Avro serde against JSON for the tasks
 * events, plus bytes per event; writes bench/results/serde.json.
 *
 * Needs the schema registry (the stack up), because schema ids come from it; the bench uses
 * throwaway subjects and deletes them afterwards. After the first message of each type the
 * serde never calls the registry, so the registry's speed does not enter the figures.
 *
 * Options (env): BENCH_RUNS (default 7), BENCH_MS per measurement (default 200).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import avsc from 'avsc';
import type { Schema } from 'avsc';
import { AvroSerde, createSchemaRegistry, type EventContract } from '@cqrs/messaging';
import { tasksTaskEventsContracts } from '@cqrs/tasks-contracts';
import { getTestInfra, registryRequest } from '@cqrs/testing';

const root = join(__dirname, '..');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 7);
const MS = Number(process.env['BENCH_MS'] ?? 200);
const GOALS = { encode: 5, decode: 2 };

const kebab = (name: string) => name.replace(/(?<!^)([A-Z])/g, '-$1').toLowerCase();
const fixtureOf = (c: (typeof tasksTaskEventsContracts)[number]): Record<string, unknown> =>
  JSON.parse(
    readFileSync(join(root, 'schemas/tasks/task/fixtures', `${kebab(c.eventType)}.v${c.version}.json`), 'utf8'),
  );

type Op = () => unknown;
type AsyncOp = () => Promise<unknown>;

/** Operations per second of `op`, run for about MS milliseconds. */
async function rate(op: Op | AsyncOp, isAsync: boolean): Promise<number> {
  const budget = BigInt(MS) * 1_000_000n;
  const start = process.hrtime.bigint();
  let n = 0;
  let now = start;
  while (now - start < budget) {
    if (isAsync) for (let i = 0; i < 500; i++) await (op as AsyncOp)();
    else for (let i = 0; i < 500; i++) (op as Op)();
    n += 500;
    now = process.hrtime.bigint();
  }
  return (n * 1e9) / Number(now - start);
}

interface Stats {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, in percent: how much the runs disagree. */
  spreadPct: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const round = (x: number) => Math.round(x);
  return {
    median: round(median),
    min: round(sorted[0]),
    max: round(sorted[sorted.length - 1]),
    spreadPct: Number((((sorted[sorted.length - 1] - sorted[0]) / median) * 100).toFixed(1)),
  };
}

async function main(): Promise<void> {
  // The stack's registry with its CA and the tests' (admin) credentials: the bench registers subjects.
  const { schemaRegistry } = await getTestInfra();
  const topic = `bench-serde-${randomUUID().slice(0, 8)}.events`;
  // Same schemas, throwaway subjects: the bench must not touch the real ones.
  const contracts: EventContract[] = tasksTaskEventsContracts.map((c) => ({
    ...c,
    topic,
    subject: `${topic}-${c.recordName}`,
  }));
  const registry = createSchemaRegistry({ ...schemaRegistry, retries: 0 });
  const serde = new AvroSerde({ registry, contracts, autoRegister: true });

  const events = await Promise.all(
    tasksTaskEventsContracts.map(async (c) => {
      const value = fixtureOf(c);
      const encoder = await serde.encoderFor(topic, c.eventType);
      const avro = encoder.encode(value);
      // Warm the caches (ours and the kafkajs client's): steady state, no registry calls.
      await serde.decode(avro);
      await registry.decode(await registry.encode(encoder.schemaId, value));
      const json = JSON.stringify(value);
      // avsc alone, without wire header, registry or serde: the ceiling the serde can reach.
      const type = avsc.Type.forSchema(c.schema as unknown as Schema);
      return { eventType: c.eventType, value, encoder, avro, json, jsonBytes: Buffer.from(json), type };
    }),
  );

  const scratch = Buffer.allocUnsafe(64 * 1024);
  // Operations compared, per event type. JSON as a serde would really use it (to and from bytes)
  // is reported beside the bare stringify/parse the goals are stated against.
  const ops = (e: (typeof events)[number]) => ({
    avroEncode: { op: () => serde.encode(topic, e.eventType, e.value), isAsync: true },
    avroEncodeBound: { op: () => e.encoder.encode(e.value), isAsync: false },
    avroDecode: { op: () => serde.decode(e.avro), isAsync: true },
    kafkajsEncode: { op: () => registry.encode(e.encoder.schemaId, e.value), isAsync: true },
    kafkajsDecode: { op: () => registry.decode(e.avro), isAsync: true },
    avscEncodeRaw: { op: () => e.type.encode(e.value, scratch, 0), isAsync: false },
    avscDecodeRaw: { op: () => e.type.decode(e.avro, 5), isAsync: false },
    jsonStringify: { op: () => JSON.stringify(e.value), isAsync: false },
    jsonParse: { op: () => JSON.parse(e.json), isAsync: false },
    jsonEncodeBytes: { op: () => Buffer.from(JSON.stringify(e.value)), isAsync: false },
    jsonDecodeBytes: { op: () => JSON.parse(e.jsonBytes.toString('utf8')), isAsync: false },
  });
  type OpName = keyof ReturnType<typeof ops>;
  const opNames = Object.keys(ops(events[0])) as OpName[];

  // Mixed stream: the six event types in turn, as a topic carries them.
  let k = 0;
  const next = () => events[k++ % events.length];
  const mixed: Record<OpName, { op: Op | AsyncOp; isAsync: boolean }> = {
    avroEncode: {
      op: () => {
        const e = next();
        return serde.encode(topic, e.eventType, e.value);
      },
      isAsync: true,
    },
    avroEncodeBound: {
      op: () => {
        const e = next();
        return e.encoder.encode(e.value);
      },
      isAsync: false,
    },
    avroDecode: { op: () => serde.decode(next().avro), isAsync: true },
    kafkajsEncode: {
      op: () => {
        const e = next();
        return registry.encode(e.encoder.schemaId, e.value);
      },
      isAsync: true,
    },
    kafkajsDecode: { op: () => registry.decode(next().avro), isAsync: true },
    avscEncodeRaw: {
      op: () => {
        const e = next();
        return e.type.encode(e.value, scratch, 0);
      },
      isAsync: false,
    },
    avscDecodeRaw: {
      op: () => {
        const e = next();
        return e.type.decode(e.avro, 5);
      },
      isAsync: false,
    },
    jsonStringify: { op: () => JSON.stringify(next().value), isAsync: false },
    jsonParse: { op: () => JSON.parse(next().json), isAsync: false },
    jsonEncodeBytes: { op: () => Buffer.from(JSON.stringify(next().value)), isAsync: false },
    jsonDecodeBytes: { op: () => JSON.parse(next().jsonBytes.toString('utf8')), isAsync: false },
  };

  const samples = new Map<string, number[]>();
  const record = (key: string, value: number) => samples.set(key, [...(samples.get(key) ?? []), value]);
  // Warm-up run, not recorded: lets the JIT settle before the runs that count.
  for (const name of opNames) await rate(mixed[name].op, mixed[name].isAsync);
  for (let run = 1; run <= RUNS; run++) {
    // Each run measures every case once, so drift (thermal, other load) hits all cases alike.
    for (const name of opNames) record(`mixed.${name}`, await rate(mixed[name].op, mixed[name].isAsync));
    for (const e of events) {
      const perEvent = ops(e);
      for (const name of opNames)
        record(`${e.eventType}.${name}`, await rate(perEvent[name].op, perEvent[name].isAsync));
    }
    const last = (key: string) => Math.round(samples.get(key)?.at(-1) ?? 0);
    console.log(
      `run ${run}/${RUNS}: mixed encode ${last('mixed.avroEncode')} ops/s, decode ${last('mixed.avroDecode')} ops/s`,
    );
  }

  const summarise = (prefix: string) => {
    const s = Object.fromEntries(
      opNames.map((name) => [name, stats(samples.get(`${prefix}.${name}`) ?? [])]),
    ) as Record<OpName, Stats>;
    const ratio = (a: OpName, b: OpName) => Number((s[a].median / s[b].median).toFixed(2));
    return {
      opsPerSec: s,
      ratios: {
        encodeVsJsonStringify: ratio('avroEncode', 'jsonStringify'),
        boundEncodeVsJsonStringify: ratio('avroEncodeBound', 'jsonStringify'),
        decodeVsJsonParse: ratio('avroDecode', 'jsonParse'),
        encodeVsJsonToBytes: ratio('avroEncode', 'jsonEncodeBytes'),
        decodeVsJsonFromBytes: ratio('avroDecode', 'jsonDecodeBytes'),
        serdeEncodeVsKafkajs: ratio('avroEncode', 'kafkajsEncode'),
        serdeDecodeVsKafkajs: ratio('avroDecode', 'kafkajsDecode'),
        serdeEncodeVsRawAvsc: ratio('avroEncode', 'avscEncodeRaw'),
        serdeDecodeVsRawAvsc: ratio('avroDecode', 'avscDecodeRaw'),
      },
    };
  };
  const perEvent = Object.fromEntries(
    events.map((e) => [
      e.eventType,
      { bytes: { avroWire: e.avro.length, json: e.jsonBytes.length }, ...summarise(e.eventType) },
    ]),
  );
  const overall = summarise('mixed');
  // Ratios per run, from measurements taken seconds apart, cancel most of the machine's drift;
  // their median and spread are the figures to compare with the goals.
  const perRunRatio = (a: OpName, b: OpName) => {
    const xs = samples.get(`mixed.${a}`) ?? [];
    const ys = samples.get(`mixed.${b}`) ?? [];
    const r = stats(xs.map((x, i) => (x / ys[i]) * 1000));
    return { median: r.median / 1000, min: r.min / 1000, max: r.max / 1000, spreadPct: r.spreadPct };
  };
  const ratioRuns = {
    encodeVsJsonStringify: perRunRatio('avroEncode', 'jsonStringify'),
    decodeVsJsonParse: perRunRatio('avroDecode', 'jsonParse'),
    boundEncodeVsJsonStringify: perRunRatio('avroEncodeBound', 'jsonStringify'),
  };
  const avgBytes = (f: (e: (typeof events)[number]) => number) =>
    Number((events.reduce((n, e) => n + f(e), 0) / events.length).toFixed(1));
  const result = {
    benchmark: 'serde',
    description:
      'Avro serde (Confluent wire format, @kafkajs/confluent-schema-registry + avsc) vs JSON.stringify/JSON.parse of the same tasks events. ' +
      'avroEncode/avroDecode are the async AvroSerde.encode/decode calls; avroEncodeBound is the synchronous encoder from encoderFor(); ' +
      'kafkajsEncode/kafkajsDecode are the same through @kafkajs/confluent-schema-registry encode/decode (writer schema); ' +
      'avscEncodeRaw/avscDecodeRaw are avsc alone (no wire header, no serde), the ceiling for the serde. ' +
      'Median of runs; spreadPct = (max - min) / median.',
    generatedAt: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    runs: RUNS,
    msPerMeasurement: MS,
    bytesPerEvent: { avroWire: avgBytes((e) => e.avro.length), json: avgBytes((e) => e.jsonBytes.length) },
    mixed: { ...overall, ratioPerRun: ratioRuns },
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    events: perEvent,
    goals: {
      encode: {
        target: `${GOALS.encode}x JSON.stringify`,
        measured: ratioRuns.encodeVsJsonStringify.median,
        met: ratioRuns.encodeVsJsonStringify.median >= GOALS.encode,
      },
      decode: {
        target: `${GOALS.decode}x JSON.parse`,
        measured: ratioRuns.decodeVsJsonParse.median,
        met: ratioRuns.decodeVsJsonParse.median >= GOALS.decode,
      },
    },
  };
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/serde.json'), JSON.stringify(result, null, 2) + '\n');

  for (const subject of new Set(contracts.map((c) => c.subject))) {
    for (const q of ['', '?permanent=true'])
      await registryRequest(schemaRegistry, `/subjects/${encodeURIComponent(subject)}${q}`, { method: 'DELETE' });
  }

  const fmt = (s: Stats) => `${s.median.toLocaleString('en')} ops/s (±${(s.spreadPct / 2).toFixed(1)}%)`;
  console.log(
    `\n${process.version}, ${result.cpu}, ${RUNS} runs x ${MS} ms, mixed stream of ${events.length} event types`,
  );
  for (const name of opNames) console.log(`  ${name.padEnd(16)} ${fmt(overall.opsPerSec[name])}`);
  console.log(`  bytes/event: Avro wire ${result.bytesPerEvent.avroWire}, JSON ${result.bytesPerEvent.json}`);
  const rr = (r: { median: number; min: number; max: number }) => `${r.median}x (runs ${r.min}-${r.max})`;
  console.log(
    `  encode ${rr(ratioRuns.encodeVsJsonStringify)} JSON.stringify; goal ${GOALS.encode}x ${result.goals.encode.met ? 'met' : 'not met'}`,
  );
  console.log(
    `  decode ${rr(ratioRuns.decodeVsJsonParse)} JSON.parse; goal ${GOALS.decode}x ${result.goals.decode.met ? 'met' : 'not met'}`,
  );
  console.log(`  load average during the run: ${result.loadAverage.join(' ')} on ${result.cores} cores`);
  console.log('wrote bench/results/serde.json');
}

main().catch((error: unknown) => {
  const e = error as Error & { code?: string };
  console.error(`✗ bench:serde failed: ${e.code ? `${e.code}: ` : ''}${e.message}`);
  if (e.code === 'REGISTRY_UNAVAILABLE')
    console.error('  the bench needs the schema registry: `npm run stack:up`, or set SCHEMA_REGISTRY_URL');
  process.exitCode = 1;
});
