/**
 * `npm run bench:report`: the README's benchmark table, derived from bench/results/*.json.
 *
 * Every results file has a summarizer (one per benchmark; `e2e.json` also carries `tracing`,
 * written by bench:tracing) that turns it into one row: what the benchmark measures (a fixed
 * sentence), its headline figures (medians, with the min–max of the runs where the file keeps
 * runs), its goals and whether they were met where the file records them, and when it was
 * recorded with the load average where the file has it. A field a summarizer needs that the file
 * lacks is an error naming the file and the field; a results file without a summarizer, or a
 * summarizer without its file, is an error too: the table never has a silent blank.
 *
 * The table is written to README.md between `<!-- bench:table:start -->` and
 * `<!-- bench:table:end -->`, formatted with prettier (the repository's config); the rest of the
 * README is left as it is. `--check` writes nothing and exits 1 when the README's table is not the
 * one the results files give.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const START_MARKER = '<!-- bench:table:start -->';
export const END_MARKER = '<!-- bench:table:end -->';

export interface Row {
  /** The npm command that runs the benchmark. */
  command: string;
  measures: string;
  figures: string;
  /** When the figures were recorded, and the load average where the file has it. */
  recorded: string;
  /** Cores of the machine, where the file records them. */
  cores?: number;
}

/** A results file that cannot give its row: the message names the file and, where known, the field. */
export class ResultsError extends Error {
  override name = 'ResultsError';
}

// ---------------------------------------------------------------------------------------------
// Reading fields: every access names the file and the path, so a missing field is never a blank.

type Kind = 'number' | 'string' | 'boolean' | 'array' | 'object';

export class Fields {
  constructor(
    readonly file: string,
    private readonly data: unknown,
    private readonly prefix = '',
  ) {}

  private get(path: string, kind: Kind): unknown {
    let value: unknown = this.data;
    for (const key of path.split('.')) {
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    }
    const ok =
      kind === 'array'
        ? Array.isArray(value)
        : kind === 'object'
          ? value !== null && typeof value === 'object' && !Array.isArray(value)
          : kind === 'number'
            ? typeof value === 'number' && Number.isFinite(value)
            : typeof value === kind;
    if (!ok) {
      const what = value === undefined ? 'missing field' : `field has the wrong type (${JSON.stringify(value)})`;
      throw new ResultsError(`${this.file}: ${what} \`${this.prefix}${path}\` (expected ${kind})`);
    }
    return value;
  }

  has(path: string): boolean {
    let value: unknown = this.data;
    for (const key of path.split('.')) {
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    }
    return value !== undefined;
  }

  num(path: string): number {
    return this.get(path, 'number') as number;
  }
  str(path: string): string {
    return this.get(path, 'string') as string;
  }
  bool(path: string): boolean {
    return this.get(path, 'boolean') as boolean;
  }
  nums(path: string): number[] {
    const values = this.get(path, 'array') as unknown[];
    values.forEach((v, i) => {
      if (typeof v !== 'number')
        throw new ResultsError(`${this.file}: \`${this.prefix}${path}[${i}]\` is not a number`);
    });
    return values as number[];
  }
  list(path: string): Fields[] {
    return (this.get(path, 'array') as unknown[]).map(
      (v, i) => new Fields(this.file, v, `${this.prefix}${path}[${i}].`),
    );
  }
  at(path: string): Fields {
    return new Fields(this.file, this.get(path, 'object'), `${this.prefix}${path}.`);
  }
  keys(path: string): string[] {
    return Object.keys(this.get(path, 'object') as object);
  }
  /** The entry of `path` (an array of objects) whose `key` is `value`. */
  find(path: string, key: string, value: number | string): Fields {
    const found = this.list(path).find(
      (entry) => entry.has(key) && (entry.get(key, typeof value as Kind) as unknown) === value,
    );
    if (!found) throw new ResultsError(`${this.file}: no entry of \`${this.prefix}${path}\` with ${key} = ${value}`);
    return found;
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** 1612 → "1,612" */
export const int = (n: number) => Math.round(n).toLocaleString('en-US');
/** fixed decimals */
export const dec = (n: number, digits = 1) => n.toFixed(digits);
export const mark = (met: boolean) => (met ? '✓' : '✗');
/** "runs 1,276–1,685" from a median/min/max group or a list of runs */
const range = (min: number, max: number, f: (n: number) => string) => `${f(min)}–${f(max)}`;
const rangeOf = (runs: number[], f: (n: number) => string) => range(Math.min(...runs), Math.max(...runs), f);
/** (max − min) / median, in % */
const spreadPct = (g: Fields) => ((g.num('max') - g.num('min')) / g.num('median')) * 100;

/** ">= 2000 commands/s" → "≥ 2,000" (with the unit when asked: "≤ 25 ms", "< 5%"). */
export function goal(target: string, file: string, field: string, withUnit = false): string {
  const m = /^\s*(>=|<=|<|>)\s*([\d.]+)\s*(%|\S+)?/.exec(target);
  if (!m) throw new ResultsError(`${file}: \`${field}\` is not a goal of the form "<op> <number> <unit>": ${target}`);
  const op = { '>=': '≥', '<=': '≤', '<': '<', '>': '>' }[m[1] as '>=' | '<=' | '<' | '>'];
  const value = Number(m[2]);
  const shown = Number.isInteger(value) ? int(value) : String(value);
  const unit = !withUnit || !m[3] ? '' : m[3] === '%' ? '%' : ` ${m[3]}`;
  return `${op} ${shown}${unit}`;
}

const date = (iso: string, file: string, field: string) => {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new ResultsError(`${file}: \`${field}\` is not a date: ${iso}`);
  return d.toISOString().slice(0, 16).replace('T', ' ');
};
const load = (values: number[]) => values.map((v) => dec(v)).join(' ');

/** "2026-12-03 14:06; load 17.0 11.4 6.9 → 13.7 12.8 8.0" */
function recorded(f: Fields, at: string, loads: { start?: string; end?: string } = {}): string {
  const parts = [date(f.str(at), f.file, at)];
  if (loads.start && loads.end) parts.push(`load ${load(f.nums(loads.start))} → ${load(f.nums(loads.end))}`);
  else if (loads.end) parts.push(`load ${load(f.nums(loads.end))} at the end`);
  return parts.join('; ');
}

// ---------------------------------------------------------------------------------------------
// Summarizers: one per benchmark.

export type Summarizer = (f: Fields) => Row;

export const summarizeCommands: Summarizer = (f) => {
  const sustained = f.at('sustainedCommandsPerSec');
  const at500 = f.find('fixedRates', 'offeredPerSec', 500);
  const token = f.at('tokenChecking');
  const uncached = token.at('uncachedSustainedCommandsPerSec');
  const goals = f.at('goals');
  return {
    command: '`npm run bench:commands`',
    cores: f.num('cores'),
    measures:
      'command service over HTTP, every request with a bearer token: sustained commands/s, p50/p95/p99 at 200, 500 and 1000 commands/s; the cost of token checking; stream loads with and without snapshots (`bench:event-store`, run first)',
    figures:
      `${int(sustained.num('median'))} commands/s sustained (runs ${rangeOf(sustained.nums('runs'), int)}; ` +
      `${goal(goals.str('sustained.target'), f.file, 'goals.sustained.target')} ${mark(goals.bool('sustained.met'))}); ` +
      `p99 ${dec(at500.num('latencyMs.p99'))} ms at 500/s ` +
      `(${goal(goals.str('p99At500.target'), f.file, 'goals.p99At500.target', true)} ${mark(goals.bool('p99At500.met'))}); ` +
      `token checking ${dec(token.num('checkUs.cached'))} µs per request with the verified-token cache, ` +
      `${dec(token.num('costPct.cached'))}% of the service's ${int(token.num('serviceCpuUsPerCommand'))} µs of CPU per command ` +
      `(${goal(goals.str('tokenChecking.target'), f.file, 'goals.tokenChecking.target', true)} ${mark(goals.bool('tokenChecking.met'))}), ` +
      `${int(token.num('checkUs.uncached'))} µs without it (a service checking every signature: ` +
      `${int(uncached.num('median'))} commands/s, runs ${rangeOf(uncached.nums('runs'), int)})`,
    recorded: recorded(f, 'generatedAt', { end: 'loadAverageAtEnd' }),
  };
};

export const summarizeEventStore: Summarizer = (f) => {
  const load = (events: number, snapshot: boolean) => {
    const entry = f.list('streamLoad').find((e) => e.num('events') === events && e.bool('snapshot') === snapshot);
    if (!entry) throw new ResultsError(`${f.file}: no \`streamLoad\` entry for ${events} events, snapshot ${snapshot}`);
    return `${dec(entry.num('medianMs'))} ms (runs ${range(entry.num('minMs'), entry.num('maxMs'), (n) => dec(n))})`;
  };
  const append = (idempotency: boolean) => {
    const entry = f.list('appendThroughput').find((e) => e.bool('idempotency') === idempotency);
    if (!entry) throw new ResultsError(`${f.file}: no \`appendThroughput\` entry with idempotency ${idempotency}`);
    return int(entry.num('commandsPerSecond'));
  };
  const target = f.at('targets.load10kWithSnapshotMs');
  return {
    command: '`npm run bench:event-store`',
    measures: `event store alone: loading a stream of 1,000 and 10,000 events with and without a snapshot (every ${int(f.num('settings.snapshotEvery'))} events), appends/s with and without idempotency keys`,
    figures:
      `1,000 events: ${load(1000, false)}, with a snapshot ${load(1000, true)}; ` +
      `10,000 events: ${load(10000, false)}, with a snapshot ${load(10000, true)} ` +
      `(≤ ${int(target.num('target'))} ms ${mark(target.bool('pass'))}); ` +
      `appends ${append(false)} commands/s, ${append(true)} with idempotency keys`,
    recorded: recorded(f, 'recordedAt'),
  };
};

export const summarizeE2e: Summarizer = (f) => {
  const rates = f.nums('settings.rates');
  const max = Math.max(...rates);
  const lat = (path: string, rate: number) => f.at(`latency.${path}.${rate}PerSecond`);
  const full = lat('fullPath', max);
  const goals = f.at('goals');
  const meets = f.at('meetsGoals');
  const p50Goal = `≤ ${int(goals.num('p50AtMaxRateMs'))}`;
  const p99Goal = `≤ ${int(goals.num('p99AtMaxRateMs'))}`;
  const p50Met = meets.bool('p50FullPath');
  const p99Met = meets.bool('p99FullPath');
  const latencyGoals =
    p50Met === p99Met
      ? `${p50Goal} / ${p99Goal} ${mark(p50Met)}`
      : `${p50Goal} ${mark(p50Met)} / ${p99Goal} ${mark(p99Met)}`;
  const projector = f.at('projectorThroughputEventsPerSecond');
  const rebuild = f.at('rebuildSeconds');
  const storeRebuild = f.at('storeRebuildSeconds');

  // The transport: PLAINTEXT against SASL_SSL on the same broker, same run.
  const min = Math.min(...rates);
  const plain = lat('fullPathPlaintext', min);
  const secured = lat('fullPath', min);
  const plainProjector = f.num('transportCost.projectorEventsPerSecond.PLAINTEXT');
  const plainProjectorRuns = f.nums('transportCost.projectorEventsPerSecond.plaintextRuns');
  // Nothing measurable: the secured figures are within the spread of the plaintext runs, or better.
  const nothingMeasurable =
    secured.num('visibleP50Ms.median') <= plain.num('visibleP50Ms.max') &&
    projector.num('median') >= Math.min(...plainProjectorRuns);
  let transport =
    `${nothingMeasurable ? 'TLS + SASL cost nothing measurable: ' : 'TLS + SASL: '}` +
    `on PLAINTEXT the full path gave p50 ${dec(plain.num('visibleP50Ms.median'))} ms at ${min}/s ` +
    `(${dec(secured.num('visibleP50Ms.median'))} secured) and the projector ${int(plainProjector)} events/s`;
  const plainMax = lat('fullPathPlaintext', max);
  const plainMaxP99 = plainMax.at('visibleP99Ms');
  if (plainMaxP99.num('median') > full.num('visibleP99Ms.median')) {
    // The noisiest: the widest p99 range (ms between the slowest and the fastest run) of all the latency figures.
    const width = (g: Fields) => g.num('max') - g.num('min');
    const widths = ['fullPath', 'readSide', 'fullPathPlaintext'].flatMap((path) =>
      rates.map((rate) => width(lat(path, rate).at('visibleP99Ms'))),
    );
    const noisiest = width(plainMaxP99) >= Math.max(...widths);
    const slowerAcks = plainMax.num('writeAcknowledgedP50Ms.median') > full.num('writeAcknowledgedP50Ms.median');
    transport +=
      `; its ${max}/s runs were ${noisiest ? 'the noisiest of the run' : 'slower'} ` +
      `(p99 ${range(plainMaxP99.num('min'), plainMaxP99.num('max'), int)} ms` +
      `${slowerAcks ? ", with the command service's own acknowledgements slower too" : ''})` +
      `${noisiest && slowerAcks && nothingMeasurable ? ', so the machine, not the transport, set those figures' : ''}`;
  }
  return {
    command: '`npm run bench:e2e`',
    cores: f.num('environment.cpus'),
    measures:
      'write to read-model-visible latency at 100 and 500 commands/s (full path and read side alone), projector throughput, rebuild of 1,000,000 events; the full path and the projector again on a PLAINTEXT listener of the same broker, for the cost of TLS + SASL',
    figures:
      `on SASL_SSL: full path at ${max}/s p50 ${dec(full.num('visibleP50Ms.median'))} ms, ` +
      `p99 ${dec(full.num('visibleP99Ms.median'))} ms ` +
      `(runs ${range(full.num('visibleP99Ms.min'), full.num('visibleP99Ms.max'), int)}; ${latencyGoals}); ` +
      `projector ${int(projector.num('median'))} events/s (runs ${range(projector.num('min'), projector.num('max'), int)}; ` +
      `≥ ${int(goals.num('eventsPerSecond'))} ${mark(meets.bool('throughput'))}); ` +
      `rebuild from Kafka ${dec(rebuild.num('median'))} s (runs ${range(rebuild.num('min'), rebuild.num('max'), (n) => dec(n))}; ` +
      `< ${int(goals.num('rebuildSeconds'))} s ${mark(meets.bool('rebuild'))}); ` +
      `rebuild from the event store (\`BENCH_ONLY=storeRebuild\`) ${dec(storeRebuild.num('median'))} s, ` +
      `${int(f.num('storeRebuildEventsPerSecond.median'))} events/s ` +
      `(runs ${range(storeRebuild.num('min'), storeRebuild.num('max'), (n) => dec(n))} s; ` +
      `< ${int(goals.num('storeRebuildSeconds'))} s ${mark(meets.bool('storeRebuild'))}). ${transport}`,
    recorded:
      `${recorded(f, 'recordedAt', { start: 'environment.loadAverageAtStart', end: 'environment.loadAverageAtEnd' })}; ` +
      `store rebuild ${recorded(f, 'storeRebuildEnvironment.recordedAt', {
        start: 'storeRebuildEnvironment.loadAverageAtStart',
        end: 'storeRebuildEnvironment.loadAverageAtEnd',
      })}`,
  };
};

export const summarizeTracing: Summarizer = (e2e) => {
  const f = e2e.at('tracing');
  const cps = (mode: string) => f.at(`${mode}.commandsPerSecond`);
  const off = cps('off');
  const exported = cps('exported');
  const sampled = cps('sampled');
  const ratio = /traceidratio\s+([\d.]+)/.exec(f.str('settings.samplers.sampled'));
  if (!ratio) throw new ResultsError(`${f.file}: \`tracing.settings.samplers.sampled\` names no traceidratio`);
  const cost = f.num('throughputCostPercent');
  const sampledCost = f.num('sampledThroughputCostPercent');
  const cores = f.num('environment.cpus');
  return {
    command: '`npm run bench:tracing`',
    cores,
    measures: 'command throughput with every span exported over OTLP against the SDK off',
    figures:
      `whole system on ${cores} cores, closed loop, ${f.num('settings.rounds')} rounds: ` +
      `${int(exported.num('median'))} commands/s with every trace exported (runs ${rangeOf(exported.nums('runs'), int)}) ` +
      `vs ${int(off.num('median'))} with the SDK off (runs ${rangeOf(off.nums('runs'), int)}), ` +
      `a ${dec(cost)}% cost (< ${int(f.num('goal.maxThroughputCostPercent'))}% ${mark(f.bool('meetsGoal'))}); ` +
      `${int(sampled.num('median'))} with ${int(Number(ratio[1]) * 100)}% head sampling (${dec(sampledCost)}%)` +
      `${sampledCost > cost / 2 ? ': the instrumentations cost most of it whether or not a request is sampled' : ''} ` +
      `([docs/observability.md](docs/observability.md#the-cost-of-tracing))`,
    recorded: recorded(f, 'recordedAt'),
  };
};

export const summarizeArchive: Summarizer = (f) => {
  const mb = (bytes: number) => `${dec(bytes / 1024 / 1024)} MB`;
  const hot = f.at('hotTableBytes');
  return {
    command: '`npm run bench:archive`',
    cores: f.num('environment.cpus'),
    measures:
      "archiving cold streams: 200,000 tasks of 5 events (80% finished 60 days ago) in a throwaway store, then `archive --older-than 30d`; the hot table's size before, as the DELETE leaves it and compacted (VACUUM FULL), the archive's size, stream loads before and after",
    figures:
      `hot \`events\` table ${mb(hot.num('before'))} → ${mb(hot.num('afterArchive'))} as left (the space is reused by new events) → ` +
      `${mb(hot.num('afterCompaction'))} compacted (−${int(f.num('hotTableShrink') * 100)}%); ` +
      `archive ${mb(f.num('archiveTableBytes'))}; ${int(f.num('archive.streams'))} streams (${int(f.num('archive.events'))} events) ` +
      `moved in ${dec(f.num('archive.seconds'))} s; loads after: hot ${dec(f.num('loads.after.hotMs'), 2)} ms, ` +
      `archived ${dec(f.num('loads.after.coldMs'), 2)} ms (before: ${dec(f.num('loads.before.hotMs'), 2)} / ${dec(f.num('loads.before.coldMs'), 2)} ms)`,
    recorded: recorded(f, 'recordedAt', {
      start: 'environment.loadAverageAtStart',
      end: 'environment.loadAverageAtEnd',
    }),
  };
};

export const summarizeRelay: Summarizer = (f) => {
  const s = (system: string, figure: string) => f.at(`summary.${system}.${figure}`);
  const tp = (system: string, size: '2KB' | '300B') => s(system, `throughput${size}EventsPerSecond`);
  const goals = f.at('goals');
  const transport = /\((TLS[^,)]*)/.exec(f.str('method.transport'));
  if (!transport) throw new ResultsError(`${f.file}: \`method.transport\` does not name the TLS mechanism`);
  const relay2 = tp('outboxRelay', '2KB');
  const relay300 = tp('outboxRelay', '300B');
  const plain2 = tp('outboxRelayPlaintext', '2KB');
  const plain300 = tp('outboxRelayPlaintext', '300B');
  const dbz2 = tp('debezium', '2KB');
  const dbz300 = tp('debezium', '300B');
  const runs = (g: Fields, prefix = 'runs ') => `${prefix}${range(g.num('min'), g.num('max'), int)}`;
  const ratio2 = f.num('transportCost.throughput2KB');
  const ratio300 = f.num('transportCost.throughput300B');
  const spreads = [relay2, relay300, plain2, plain300].map(spreadPct);
  const nothingMeasurable =
    Math.abs(1 - ratio2) * 100 < Math.min(spreadPct(relay2), spreadPct(plain2)) &&
    Math.abs(1 - ratio300) * 100 < Math.min(spreadPct(relay300), spreadPct(plain300));
  const relayP99 = s('outboxRelay', 'latencyP99Ms');
  const dbzP99 = s('debezium', 'latencyP99Ms');
  return {
    command: '`npm run bench:relay`',
    cores: f.num('machine.cpus'),
    measures:
      'outbox relay against Debezium on the same machine: throughput at 2 KB and 300 B payloads, commit-to-Kafka-ack latency at 1,000 events/s; the relay again on a PLAINTEXT listener of the same broker, for the cost of TLS + SASL',
    figures:
      `on SASL_SSL (${transport[1]}): relay ${int(relay2.num('median'))} (2 KB, ${runs(relay2)}) and ` +
      `${int(relay300.num('median'))} (300 B, ${runs(relay300)}) events/s, ` +
      `Debezium ${int(dbz2.num('median'))} (${runs(dbz2, '')}) and ${int(dbz300.num('median'))} (${runs(dbz300, '')}); ` +
      `p99 ${int(relayP99.num('median'))} ms (${runs(relayP99)}) vs ${int(dbzP99.num('median'))} ms (${runs(dbzP99, '')}) ` +
      `(≥ 20,000/s at 2 KB ${mark(goals.bool('throughputAtLeast20k'))}, p99 ≤ 100 ms ${mark(goals.bool('p99AtOrUnder100ms'))}, ` +
      `ahead of Debezium on throughput ${mark(goals.bool('aheadOfDebeziumOnThroughput'))} ` +
      `and latency ${mark(goals.bool('aheadOfDebeziumOnLatency'))}). ` +
      `${nothingMeasurable ? 'TLS + SASL cost nothing measurable: ' : 'TLS + SASL: '}` +
      `the same relay on PLAINTEXT gave ${int(plain2.num('median'))} and ${int(plain300.num('median'))} events/s, ` +
      `p99 ${int(s('outboxRelayPlaintext', 'latencyP99Ms').num('median'))} ms ` +
      `(secured / plaintext ${dec(ratio2, 2)} and ${dec(ratio300, 2)}, ` +
      `${nothingMeasurable ? 'inside' : 'against'} the ${range(Math.min(...spreads), Math.max(...spreads), int)}% spread between runs)`,
    recorded: recorded(f, 'date'),
  };
};

export const summarizeSerde: Summarizer = (f) => {
  const goals = f.at('goals');
  const times = (target: string, field: string) => {
    const m = /^\s*([\d.]+)x/.exec(target);
    if (!m) throw new ResultsError(`${f.file}: \`${field}\` is not a goal of the form "<n>x ...": ${target}`);
    return `${m[1]}×`;
  };
  const perRun = (name: string) => f.at(`mixed.ratioPerRun.${name}`);
  const encodeMet = goals.bool('encode.met');
  const decodeMet = goals.bool('decode.met');
  const encodeGoal = times(goals.str('encode.target'), 'goals.encode.target');
  const decodeGoal = times(goals.str('decode.target'), 'goals.decode.target');
  const goalText =
    encodeMet === decodeMet
      ? `${encodeGoal} / ${decodeGoal} ${mark(encodeMet)}`
      : `${encodeGoal} ${mark(encodeMet)} / ${decodeGoal} ${mark(decodeMet)}`;
  return {
    command: '`npm run bench:serde`',
    cores: f.num('cores'),
    measures: 'Avro serde against `JSON.stringify`/`JSON.parse` of the same events, bytes per event',
    figures:
      `encode ${dec(goals.num('encode.measured'))}× (runs ${range(perRun('encodeVsJsonStringify').num('min'), perRun('encodeVsJsonStringify').num('max'), (n) => dec(n))}), ` +
      `decode ${dec(goals.num('decode.measured'))}× (runs ${range(perRun('decodeVsJsonParse').num('min'), perRun('decodeVsJsonParse').num('max'), (n) => dec(n))}) ` +
      `the JSON rate (${goalText}, see \`docs/evolving-events.md\`); ` +
      `${int(f.num('bytesPerEvent.avroWire'))} vs ${int(f.num('bytesPerEvent.json'))} bytes`,
    recorded: recorded(f, 'generatedAt', { end: 'loadAverage' }),
  };
};

export const summarizeChaos: Summarizer = (f) => {
  const rounds = f.num('method.iterations');
  const seconds = (scenario: string) =>
    f
      .nums(`recoveryMs.${scenario}.runs`)
      .map((ms) => dec(ms / 1000))
      .join(' / ');
  const faults = (scenario: string) => f.list('faults').filter((x) => x.str('scenario') === scenario);
  const kafkaStart = faults('kafka-restart').map((x) => x.num('outageMs') / 1000);
  if (kafkaStart.length === 0) throw new ResultsError(`${f.file}: no \`faults\` entry for kafka-restart`);
  const registry = faults('registry-outage');
  const registryText =
    registry.length > 0 && registry.every((x) => x.has('note') && x.str('note').includes('delivered throughout'))
      ? 'registry outage: delivery never stopped (schemas cached)'
      : `registry outage ${seconds('registry-outage')} s`;
  const unknown = f.at('commands.unknown');
  const unknownText =
    unknown.num('notApplied') === unknown.num('total')
      ? 'all resolved from the event store as not applied'
      : `resolved from the event store: ${int(unknown.num('applied'))} applied, ${int(unknown.num('notApplied'))} not applied`;
  return {
    command: '`npm run chaos`',
    cores: f.num('machine.cpus'),
    measures:
      'fault drill on a stack of its own, under 40 commands/s: kill -9 the relay, the projector, the command service; restart Kafka, Postgres; registry down 60 s; 2 rounds, then an oracle over every acknowledged command ([docs/architecture.md](docs/architecture.md#11-failure-behaviour))',
    figures:
      `${int(f.num('commands.acknowledged'))} commands acknowledged: lost ${int(f.num('lost'))}, ` +
      `applied twice ${int(f.num('duplicatesApplied'))} (oracle ${mark(f.bool('passed'))}); ` +
      `${int(unknown.num('total'))} unknown (no answer / 5xx, client gave up), ${unknownText}; ` +
      `${int(f.num('kafka.duplicatesDelivered'))} duplicates delivered on Kafka` +
      `${f.num('duplicatesApplied') === 0 ? ', absorbed' : ''}. ` +
      `Back to delivering (fault → a new command visible in the read model, ${rounds} rounds): ` +
      `relay ${seconds('relay-kill')} s, projector ${seconds('projector-kill')} s (the group's 10 s session timeout), ` +
      `command service ${seconds('command-kill')} s (process start), ` +
      `Kafka ${seconds('kafka-restart')} s (the broker took ${rangeOf(kafkaStart, int)} s to start), ` +
      `Postgres ${seconds('postgres-restart')} s, ${registryText}`,
    recorded: recorded(f, 'date', { end: 'machine.loadAverage' }),
  };
};

/** The results files and the rows they give, in the table's order. */
export const BENCHMARKS: { file: string; summarize: Summarizer }[] = [
  { file: 'commands.json', summarize: summarizeCommands },
  { file: 'event-store.json', summarize: summarizeEventStore },
  { file: 'e2e.json', summarize: summarizeE2e },
  { file: 'archive.json', summarize: summarizeArchive },
  { file: 'relay.json', summarize: summarizeRelay },
  { file: 'serde.json', summarize: summarizeSerde },
  { file: 'e2e.json', summarize: summarizeTracing },
  { file: 'chaos.json', summarize: summarizeChaos },
];

// ---------------------------------------------------------------------------------------------
// Rows, table, README

export function readRows(resultsDir: string): Row[] {
  const known = new Set(BENCHMARKS.map((b) => b.file));
  const present = existsSync(resultsDir) ? readdirSync(resultsDir).filter((name) => name.endsWith('.json')) : [];
  const problems: string[] = [];
  for (const name of present) {
    if (!known.has(name))
      problems.push(`bench/results/${name}: no summarizer knows this results file (add one to bench/report.ts)`);
  }
  const parsed = new Map<string, Fields>();
  for (const name of known) {
    const path = join(resultsDir, name);
    if (!present.includes(name)) {
      problems.push(`bench/results/${name}: missing (its benchmark has never been run here?)`);
      continue;
    }
    try {
      parsed.set(name, new Fields(`bench/results/${name}`, JSON.parse(readFileSync(path, 'utf8'))));
    } catch (error) {
      problems.push(`bench/results/${name}: not JSON (${(error as Error).message})`);
    }
  }
  const rows: Row[] = [];
  for (const { file, summarize } of BENCHMARKS) {
    const fields = parsed.get(file);
    if (!fields) continue;
    try {
      rows.push(summarize(fields));
    } catch (error) {
      if (!(error instanceof ResultsError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new ResultsError(problems.join('\n'));
  return rows;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The table as markdown, not yet aligned. */
export function tableMarkdown(rows: Row[]): string {
  const cores = [...new Set(rows.flatMap((r) => (r.cores === undefined ? [] : [r.cores])))];
  const oneMachine = cores.length === 1;
  const header = [
    'command',
    'measures',
    `latest figures (${oneMachine ? `${cores[0]} cores, ` : ''}median of runs; goal)`,
    'recorded (UTC; load average 1 / 5 / 15 min)',
  ];
  const lines = [header, header.map(() => '---')];
  for (const r of rows) {
    const when = !oneMachine && r.cores !== undefined ? `${r.recorded}; ${r.cores} cores` : r.recorded;
    lines.push([r.command, r.measures, r.figures, when]);
  }
  return lines.map((cells) => `| ${cells.map(cell).join(' | ')} |`).join('\n') + '\n';
}

/** The table formatted by prettier with the README's options, as `prettier --check` wants it. */
export async function formatTable(markdown: string, readmePath: string): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(readmePath)) ?? {};
  return prettier.format(markdown, { ...options, filepath: readmePath, parser: 'markdown' });
}

/** The README with `table` between the markers. */
export function withTable(readme: string, table: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < 0 || end < start || readme.indexOf(START_MARKER, start + 1) >= 0)
    throw new ResultsError(`README.md: needs exactly one ${START_MARKER} followed by one ${END_MARKER}`);
  return `${readme.slice(0, start + START_MARKER.length)}\n\n${table.trimEnd()}\n\n${readme.slice(end)}`;
}

/** The lines of the table that differ, for a readable --check failure. */
function tableDiff(current: string, expected: string): string {
  const region = (text: string) => {
    const start = text.indexOf(START_MARKER);
    const end = text.indexOf(END_MARKER);
    return start < 0 || end < 0 ? [] : text.slice(start, end).split('\n');
  };
  const before = region(current);
  const after = region(expected);
  const shorten = (line: string) => line.replace(/ {2,}/g, ' ');
  const out: string[] = [];
  for (const line of before) if (!after.includes(line)) out.push(`  - ${shorten(line)}`);
  for (const line of after) if (!before.includes(line)) out.push(`  + ${shorten(line)}`);
  return out.join('\n');
}

export async function main(argv: string[], root = join(__dirname, '..')): Promise<number> {
  const check = argv.includes('--check');
  // --root <dir>: another checkout's README.md and bench/results (the tests use a copy)
  const rootAt = argv.indexOf('--root');
  if (rootAt >= 0 && argv[rootAt + 1]) root = argv[rootAt + 1];
  const unknown = argv.filter((a, i) => a !== '--check' && !(rootAt >= 0 && (i === rootAt || i === rootAt + 1)));
  if (unknown.length > 0 || (rootAt >= 0 && !argv[rootAt + 1])) {
    console.error(
      `bench:report: unknown argument ${unknown.join(' ')} (usage: bench/report.ts [--check] [--root <dir>])`,
    );
    return 2;
  }
  const readmePath = join(root, 'README.md');
  try {
    const rows = readRows(join(root, 'bench', 'results'));
    const table = await formatTable(tableMarkdown(rows), readmePath);
    const readme = readFileSync(readmePath, 'utf8');
    const expected = withTable(readme, table);
    if (check) {
      if (expected === readme) {
        console.log(`bench:report: README.md's benchmark table matches bench/results/*.json (${rows.length} rows)`);
        return 0;
      }
      console.error(
        "bench:report: README.md's benchmark table is not what bench/results/*.json give; run `npm run bench:report`.\n" +
          tableDiff(readme, expected),
      );
      return 1;
    }
    if (expected !== readme) writeFileSync(readmePath, expected);
    console.log(
      `bench:report: ${expected === readme ? 'README.md already up to date' : 'README.md updated'} (${rows.length} rows from bench/results/*.json)`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ResultsError)) throw error;
    console.error(`bench:report: ${error.message.split('\n').join('\n  ')}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
