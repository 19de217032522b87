import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BENCHMARKS,
  END_MARKER,
  Fields,
  readRows,
  ResultsError,
  START_MARKER,
  summarizeArchive,
  summarizeChaos,
  summarizeCommands,
  summarizeE2e,
  summarizeEventStore,
  summarizeRelay,
  summarizeSerde,
  summarizeTracing,
  tableMarkdown,
  withTable,
} from './report';

const root = join(__dirname, '..');
const resultsDir = join(root, 'bench', 'results');
const results = (name: string): unknown => JSON.parse(readFileSync(join(resultsDir, name), 'utf8'));
const fields = (name: string) => new Fields(`bench/results/${name}`, results(name));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** Runs bench/report.ts as `npm run bench:report` does, on `dir` (the repository, or a copy of its README and results). */
function report(args: string[], dir = root) {
  return spawnSync(
    process.execPath,
    ['-r', '@swc-node/register', join(root, 'bench', 'report.ts'), ...args, '--root', dir],
    {
      cwd: root,
      env: { ...process.env, SWC_NODE_PROJECT: join(root, 'tsconfig.base.json') },
      encoding: 'utf8',
    },
  );
}

describe('bench:report summarizers, on the committed results files', () => {
  // The figures the README quoted when its table was written by hand: each must still come out.
  it.each([
    [
      'commands',
      () => summarizeCommands(fields('commands.json')),
      [
        '1,612 commands/s sustained (runs 1,276–1,685; ≥ 2,000 ✗)',
        'p99 18.0 ms at 500/s (≤ 25 ms ✓)',
        "token checking 3.2 µs per request with the verified-token cache, 0.6% of the service's 574 µs of CPU per command (< 5% ✓)",
        '185 µs without it (a service checking every signature: 1,226 commands/s',
      ],
    ],
    [
      'e2e',
      () => summarizeE2e(fields('e2e.json')),
      [
        'full path at 500/s p50 28.0 ms, p99 141.2 ms (runs 138–146; ≤ 40 / ≤ 200 ✓)',
        'projector 22,003 events/s (runs 18,537–23,071; ≥ 10,000 ✓)',
        'rebuild from Kafka 48.2 s',
        '< 60 s ✓',
        '9.3 s, 107,101 events/s (runs 8.9–9.7 s; < 20 s ✓)',
        'TLS + SASL cost nothing measurable: on PLAINTEXT the full path gave p50 9.1 ms at 100/s (10.1 secured) and the projector 18,872 events/s',
        "its 500/s runs were the noisiest of the run (p99 148–441 ms, with the command service's own acknowledgements slower too), so the machine, not the transport, set those figures",
      ],
    ],
    [
      'archive',
      () => summarizeArchive(fields('archive.json')),
      [
        'hot `events` table 398.9 MB → 398.9 MB as left (the space is reused by new events) → 63.9 MB compacted (−84%); archive 331.3 MB',
        '160,000 streams (800,000 events) moved in 46.4 s',
        'hot 0.46 ms, archived 0.46 ms',
      ],
    ],
    [
      'relay',
      () => summarizeRelay(fields('relay.json')),
      [
        'on SASL_SSL (TLS + SCRAM-SHA-512): relay 26,128 (2 KB, runs 19,802–27,789) and 47,393 (300 B, runs 41,247–47,616) events/s, Debezium 13,817 (7,779–13,952) and 22,324 (18,512–25,080)',
        'p99 8 ms',
        'vs 166 ms',
        '(≥ 20,000/s at 2 KB ✓, p99 ≤ 100 ms ✓, ahead of Debezium on throughput ✓ and latency ✓)',
        'TLS + SASL cost nothing measurable: the same relay on PLAINTEXT gave 25,324 and 43,718 events/s, p99 10 ms (secured / plaintext 1.03 and 1.08, inside the',
      ],
    ],
    [
      'serde',
      () => summarizeSerde(fields('serde.json')),
      ['encode 0.6×', 'decode 1.1×', 'the JSON rate (5× / 2× ✗, see `docs/evolving-events.md`); 188 vs 306 bytes'],
    ],
    [
      'tracing',
      () => summarizeTracing(fields('e2e.json')),
      [
        'whole system on 2 cores, closed loop, 6 rounds: 530 commands/s with every trace exported',
        'vs 716 with the SDK off',
        'a 23.4% cost (< 10% ✗); 581 with 10% head sampling (17.9%): the instrumentations cost most of it whether or not a request is sampled',
      ],
    ],
    [
      'chaos',
      () => summarizeChaos(fields('chaos.json')),
      [
        '11,684 commands acknowledged: lost 0, applied twice 0',
        '38 unknown (no answer / 5xx, client gave up), all resolved from the event store as not applied; 6 duplicates delivered on Kafka, absorbed.',
        'Back to delivering (fault → a new command visible in the read model, 2 rounds): relay 4.9 / 3.2 s, projector 10.1 / 10.6 s',
        'command service 4.7 / 5.5 s (process start), Kafka 23.2 / 25.6 s (the broker took 17–21 s to start), Postgres 0.9 / 0.5 s, registry outage: delivery never stopped (schemas cached)',
      ],
    ],
    [
      'event-store',
      () => summarizeEventStore(fields('event-store.json')),
      ['with a snapshot 0.7 ms', '(≤ 10 ms ✓)', 'appends 1,676 commands/s, 894 with idempotency keys'],
    ],
  ])('%s gives the figures the README quotes', (_name, summarize, figures) => {
    const row = summarize();
    for (const figure of figures) expect(row.figures).toContain(figure);
    // and the README's table says the same
    expect(readme).toContain(row.figures);
  });

  it('gives the min–max of the runs where the file keeps them', () => {
    expect(summarizeTracing(fields('e2e.json')).figures).toContain(
      '(runs 444–685) vs 716 with the SDK off (runs 426–765)',
    );
    expect(summarizeE2e(fields('e2e.json')).figures).toContain('rebuild from Kafka 48.2 s (runs 43.5–49.3; < 60 s ✓)');
  });

  it('says when each benchmark was recorded, with the load average where the file has it', () => {
    expect(summarizeArchive(fields('archive.json')).recorded).toBe(
      '2026-12-03 14:06; load 17.0 11.4 6.9 → 13.7 12.8 8.0',
    );
    expect(summarizeRelay(fields('relay.json')).recorded).toBe('2026-12-03 07:13');
    expect(summarizeE2e(fields('e2e.json')).recorded).toContain('store rebuild 2026-12-03 11:44');
  });

  it('names the file and the field a summarizer misses', () => {
    const commands = results('commands.json') as { goals: { sustained: Record<string, unknown> } };
    delete commands.goals.sustained['met'];
    expect(() => summarizeCommands(new Fields('bench/results/commands.json', commands))).toThrow(
      new ResultsError('bench/results/commands.json: missing field `goals.sustained.met` (expected boolean)'),
    );
    const e2e = results('e2e.json') as Record<string, unknown>;
    delete e2e['tracing'];
    expect(() => summarizeTracing(new Fields('bench/results/e2e.json', e2e))).toThrow(
      'bench/results/e2e.json: missing field `tracing` (expected object)',
    );
  });

  it('reports a results file no summarizer knows, and a known one that is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      cpSync(resultsDir, dir, { recursive: true });
      writeFileSync(join(dir, 'new-thing.json'), '{}');
      rmSync(join(dir, 'serde.json'));
      expect(() => readRows(dir)).toThrow(/new-thing\.json: no summarizer knows this results file/);
      expect(() => readRows(dir)).toThrow(/serde\.json: missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has a row for every benchmark, in the order of the table', () => {
    const rows = readRows(resultsDir);
    expect(rows.map((r) => r.command)).toEqual([
      '`npm run bench:commands`',
      '`npm run bench:event-store`',
      '`npm run bench:e2e`',
      '`npm run bench:archive`',
      '`npm run bench:relay`',
      '`npm run bench:serde`',
      '`npm run bench:tracing`',
      '`npm run chaos`',
    ]);
    expect(tableMarkdown(rows).split('\n')[0]).toContain('latest figures (2 cores, median of runs; goal)');
  });
});

describe('npm run bench', () => {
  const runAll = readFileSync(join(__dirname, 'run-all.sh'), 'utf8');
  const list = /BENCHMARKS=\(\n([^)]*)\)/.exec(runAll)?.[1] ?? '';
  const entries = list
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => line.split('='));
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;

  it('runs every benchmark script of package.json, and only scripts that exist', () => {
    const benchScripts = Object.keys(scripts).filter((s) => s.startsWith('bench:') && s !== 'bench:report');
    expect(entries.map(([, script]) => script).sort()).toEqual([...benchScripts, 'chaos'].sort());
    expect(scripts['bench']).toBe('bash bench/run-all.sh');
  });

  it('runs every benchmark the table has a row for', () => {
    const commands = readRows(resultsDir).map((r) => /`npm run (\S+)`/.exec(r.command)?.[1]);
    expect(entries.map(([, script]) => script).sort()).toEqual([...commands].sort());
    expect(BENCHMARKS.length).toBe(commands.length);
  });
});

describe('bench:report on the README', () => {
  it('puts the table between its markers and leaves the rest as it is', () => {
    const before = `# T\n\ntext\n\n${START_MARKER}\n\nold\n\n${END_MARKER}\n\nafter\n`;
    expect(withTable(before, '| a |\n| - |\n')).toBe(
      `# T\n\ntext\n\n${START_MARKER}\n\n| a |\n| - |\n\n${END_MARKER}\n\nafter\n`,
    );
    expect(() => withTable('no markers', 'x')).toThrow(/needs exactly one/);
  });

  it('--check passes on the committed README', () => {
    const run = report(['--check']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);

  it('--check fails, readably, when a figure in the README is not what the results say', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      cpSync(join(root, 'bench', 'results'), join(dir, 'bench', 'results'), { recursive: true });
      cpSync(join(root, '.prettierrc'), join(dir, '.prettierrc'));
      writeFileSync(join(dir, 'README.md'), readme.replace('1,612 commands/s sustained', '1,700 commands/s sustained'));
      const run = report(['--check'], dir);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("README.md's benchmark table is not what bench/results/*.json give");
      expect(run.stderr).toContain('- | `npm run bench:commands` |');
      expect(run.stderr).toContain('1,700 commands/s sustained');
      // and writing it puts the file's figure back
      expect(report([], dir).status).toBe(0);
      expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe(readme);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
