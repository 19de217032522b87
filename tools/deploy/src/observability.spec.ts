import { CQRS_METRICS, type CqrsMetricName } from '@cqrs/observability';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';
import { APPS, appConfig } from './lib/app-config';
import { environmentOf, loadCompose, parsePort } from './lib/compose';
import { readRepoFile } from './lib/repo';

// The alert rules and the dashboard are read by a Prometheus and a Grafana that no test here
// runs, so this checks what they would choke on or silently show nothing for: PromQL that does
// not parse, a metric or label the apps do not emit, and a compose stack wired to other files
// than the chart's.
const RULES_FILE = 'helm/cqrs/files/prometheus-rules.yaml';
const DASHBOARD_FILE = 'helm/cqrs/files/grafana-dashboard.json';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parse(readRepoFile(RULES_FILE)) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const alert = (name: string) => {
  const found = rules.find((r) => r.alert === name);
  if (!found) throw new Error(`${RULES_FILE} has no alert ${name}; it has ${rules.map((r) => r.alert).join(', ')}`);
  return found;
};

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readRepoFile(DASHBOARD_FILE)) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; query: unknown }[] };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
// Grafana's own variables, replaced by what Grafana would put there.
const dashboardExpr = (expr: string) => expr.replace(/\$__rate_interval/g, '1m').replace(/\$job/g, '.+');

/** Labels every scraped series gets from Prometheus or the Prometheus Operator, whatever the app. */
const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'service', 'container', 'endpoint'];
/** Metrics that are not the apps' cqrs_* ones: Prometheus', prom-client's defaults, kube-state-metrics'. */
const isForeign = (name: string) => name === 'up' || /^(nodejs_|process_|kube_)/.test(name);

/** The catalogued metric a series name belongs to (`x_bucket` of histogram `x`, etc.). */
function catalogued(series: string): { name: CqrsMetricName; labels: string[] } | undefined {
  for (const [name, def] of Object.entries(CQRS_METRICS)) {
    const suffixes = def.kind === 'histogram' ? ['_bucket', '_count', '_sum'] : [''];
    const suffix = suffixes.find((s) => series === name + s);
    if (suffix !== undefined)
      return { name: name as CqrsMetricName, labels: [...def.labels, ...(suffix === '_bucket' ? ['le'] : [])] };
  }
  return undefined;
}

/** Parse errors, metrics used, and labels matched per selector, of one PromQL expression. */
function analyse(expr: string) {
  const errors: string[] = [];
  const selectors: { metric: string; labels: string[] }[] = [];
  const grouping: string[] = [];
  const cursor = parser.parse(expr).cursor();
  const text = (from: number, to: number) => expr.slice(from, to);
  do {
    const { name, isError } = cursor.type;
    if (isError) errors.push(`syntax error at ${cursor.from}: ${JSON.stringify(text(cursor.from, cursor.to + 10))}`);
    if (name === 'VectorSelector') {
      const node = cursor.node;
      const id = node.getChild('Identifier');
      const matchers = node.getChild('LabelMatchers');
      const labels = matchers
        ? matchers.getChildren('UnquotedLabelMatcher').map((m) => text(m.firstChild!.from, m.firstChild!.to))
        : [];
      if (id) selectors.push({ metric: text(id.from, id.to), labels });
    }
    if (name === 'GroupingLabels') {
      for (const label of cursor.node.getChildren('LabelName')) grouping.push(text(label.from, label.to));
    }
  } while (cursor.next());
  return { errors, selectors, grouping };
}

/** What is wrong with an expression: syntax, unknown metrics, labels the metrics do not have. */
function problems(expr: string): string[] {
  const { errors, selectors, grouping } = analyse(expr);
  const found = [...errors];
  const known: string[] = [...TARGET_LABELS];
  for (const { metric, labels } of selectors) {
    if (isForeign(metric)) continue;
    const entry = catalogued(metric);
    if (!entry) {
      found.push(`${metric} is not in CQRS_METRICS`);
      continue;
    }
    known.push(...entry.labels);
    const unknown = labels.filter((l) => !entry.labels.includes(l) && !TARGET_LABELS.includes(l));
    if (unknown.length) found.push(`${metric} has no label ${unknown.join(', ')}`);
  }
  if (selectors.some((s) => !isForeign(s.metric))) {
    const unknown = grouping.filter((l) => !known.includes(l));
    if (unknown.length) found.push(`grouped by ${unknown.join(', ')}, which none of its metrics has`);
  }
  return found;
}

describe('the expression checker itself', () => {
  it.each([
    ['sum(rate(cqrs_command_total[5m])', /syntax error/],
    ['rate(cqrs_commands_total[5m])', /cqrs_commands_total is not in CQRS_METRICS/],
    ['rate(cqrs_command_total{kind="x"}[5m])', /cqrs_command_total has no label kind/],
    ['sum by (topic) (rate(cqrs_command_total[5m]))', /grouped by topic/],
  ])('rejects %s', (expr, message) => {
    expect(problems(expr).join('\n')).toMatch(message);
  });

  it('accepts histogram series with le, and the labels Prometheus adds', () => {
    expect(
      problems(
        'histogram_quantile(0.9, sum by (le, job) (rate(cqrs_query_duration_ms_bucket{job=~"a", cache_hit="true"}[5m])))',
      ),
    ).toEqual([]);
  });
});

describe(`alert rules (${RULES_FILE})`, () => {
  it.each(rules.map((r) => [r.alert, r] as const))(
    '%s is valid PromQL on metrics and labels the apps emit',
    (_name, rule) => {
      expect(problems(rule.expr)).toEqual([]);
      expect(rule.labels?.['severity']).toMatch(/^(critical|warning)$/);
      expect(rule.annotations?.['summary']).toBeTruthy();
    },
  );

  // What the issue asks to be alerted on, with its thresholds and durations.
  it.each([
    ['CqrsCommandErrorRateHigh', 'cqrs_command_total', '> 0.01', '5m'],
    ['CqrsEventErrorRateHigh', 'cqrs_events_processed_total', '> 0.01', '5m'],
    [
      'CqrsCommandLatencyHigh',
      'histogram_quantile(0.95, sum by (le) (rate(cqrs_command_duration_ms_bucket',
      '> 500',
      '10m',
    ],
    [
      'CqrsQueryLatencyHigh',
      'histogram_quantile(0.95, sum by (le) (rate(cqrs_query_duration_ms_bucket',
      '> 300',
      '10m',
    ],
    ['CqrsCacheHitRateLow', 'cqrs_query_total{cache_hit="true"}', '< 0.5', '15m'],
    ['CqrsDeadLetters', 'increase(cqrs_dlq_messages_total', '> 0', undefined],
    ['CqrsReplicationSlotLagHigh', 'cqrs_outbox_slot_lag_bytes', '>', '10m'],
    ['CqrsConsumerLagHigh', 'cqrs_consumer_lag_messages', '>', '10m'],
  ])('%s: %s %s for %s', (name, uses, threshold, duration) => {
    const rule = alert(name);
    const flat = rule.expr.replace(/\s+/g, ' ');
    expect(flat).toContain(uses);
    expect(flat).toContain(threshold);
    expect(rule.for).toBe(duration);
  });
});

describe(`the Grafana dashboard (${DASHBOARD_FILE})`, () => {
  const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => [p.title, t.expr] as const));

  it.each(queries)('%s: %s', (_title, expr) => {
    expect(problems(dashboardExpr(expr))).toEqual([]);
  });

  it('shows every catalogued metric, and asks for its Prometheus data source instead of naming one', () => {
    const used = new Set(
      queries.flatMap(([, expr]) => analyse(dashboardExpr(expr)).selectors.map((s) => catalogued(s.metric)?.name)),
    );
    expect(Object.keys(CQRS_METRICS).filter((name) => !used.has(name as CqrsMetricName))).toEqual([]);
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.query).toBe('prometheus');
    const datasources = new Set(
      panels.filter((p) => p.targets).map((p) => JSON.stringify((p as { datasource?: unknown }).datasource)),
    );
    expect([...datasources]).toEqual([JSON.stringify({ type: 'prometheus', uid: '${datasource}' })]);
  });
});

describe('docker-compose observability services', () => {
  const services = loadCompose().services;
  const mounts = (name: string) =>
    Object.fromEntries(
      (services[name]?.volumes ?? []).map((v) => v.split(':')).map(([from, to]) => [to, from.replace(/^\.\//, '')]),
    );
  const prometheusConfig = parse(readRepoFile('tools/observability/prometheus.yml')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
  };

  it("evaluates the chart's rule file itself, not a copy", () => {
    const rulesMount = Object.entries(mounts('prometheus')).find(([, from]) => from === RULES_FILE);
    expect(rulesMount).toBeDefined();
    const [inContainer] = rulesMount!;
    const globs = prometheusConfig.rule_files.map(
      (g) => new RegExp(`^${g.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`),
    );
    expect(globs.some((g) => g.test(inContainer))).toBe(true);
    expect(mounts('prometheus')['/etc/prometheus/prometheus.yml']).toBe('tools/observability/prometheus.yml');
  });

  it.each(APPS)('scrapes %s on its management port, as a job the rules and the dashboard select', async (app) => {
    const job = prometheusConfig.scrape_configs.find((j) => j.dns_sd_configs?.some((d) => d.names.includes(app)));
    expect(job).toBeDefined();
    // The API apps serve /metrics on MANAGEMENT_PORT only; the projector and the relay on their one PORT.
    const defaults = (await appConfig(app)).defaults();
    const port = defaults['MANAGEMENT_PORT'] ?? defaults['PORT'];
    expect(job!.dns_sd_configs[0].port).toBe(port);
    expect((services[app]?.ports ?? []).map((p) => parsePort(p).containerPort)).toContain(port);
    expect(services[app]?.labels).toMatchObject({
      'prometheus.io/path': '/metrics',
      ...(defaults['MANAGEMENT_PORT'] ? { 'prometheus.io/port': String(port) } : {}),
    });
    const selector = /job=~"([^"]+)"/.exec(alert('CqrsAppDown').expr)![1];
    expect(new RegExp(`^(?:${selector})$`).test(job!.job_name)).toBe(true);
  });

  it("provisions the chart's dashboard and both data sources in Grafana", () => {
    const grafana = mounts('grafana');
    const provisioning = parse(readRepoFile('tools/observability/grafana/provisioning/dashboards/dashboards.yaml')) as {
      providers: { options: { path: string } }[];
    };
    const dashboardDir = provisioning.providers[0].options.path;
    const dashboardMount = Object.entries(grafana).find(([, from]) => from === DASHBOARD_FILE);
    expect(dashboardMount?.[0].startsWith(`${dashboardDir}/`)).toBe(true);
    expect(grafana['/etc/grafana/provisioning']).toBe('tools/observability/grafana/provisioning');
    const datasources = parse(
      readRepoFile('tools/observability/grafana/provisioning/datasources/datasources.yaml'),
    ) as { datasources: { type: string; url: string }[] };
    expect(datasources.datasources.map((d) => [d.type, new URL(d.url).hostname])).toEqual([
      ['prometheus', 'prometheus'],
      ['jaeger', 'jaeger'],
    ]);
  });

  it.each(APPS)('%s exports traces to the collector, which forwards them to Jaeger', (app) => {
    const env = environmentOf(services[app]!);
    expect(env['OTEL_SDK_DISABLED']).toBe('false');
    const endpoint = new URL(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
    expect(endpoint.hostname).toBe('otel-collector');
    const collector = parse(readRepoFile('tools/observability/otel-collector.yaml')) as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      exporters: Record<string, { endpoint: string }>;
      service: { pipelines: { traces: { exporters: string[] } } };
    };
    expect(collector.receivers.otlp.protocols.http.endpoint).toBe(`0.0.0.0:${endpoint.port}`);
    expect(mounts('otel-collector')['/etc/otelcol-contrib/config.yaml']).toBe(
      'tools/observability/otel-collector.yaml',
    );
    const [exporter] = collector.service.pipelines.traces.exporters;
    expect(collector.exporters[exporter!].endpoint).toBe('${env:JAEGER_OTLP_ENDPOINT}');
    expect(environmentOf(services['otel-collector']!)['JAEGER_OTLP_ENDPOINT']).toBe('jaeger:4317');
  });
});
