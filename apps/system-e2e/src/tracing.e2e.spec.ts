import { otlpEnv, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@cqrs/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { eventually, logLines, startSystem, type RunningSystem } from './support/system';

// One command and one read through the four built apps, each exporting its spans over OTLP
// (http/protobuf, the default) to a receiver inside this test. The test plays a traced client:
// both requests carry a traceparent of one trace, so that trace must hold every hop.
describe('one trace across every service', () => {
  let receiver: OtlpReceiver;
  let system: RunningSystem;
  const traceId = randomBytes(16).toString('hex');
  const commandClientSpan = randomBytes(8).toString('hex');
  const readClientSpan = randomBytes(8).toString('hex');
  const traceparent = (spanId: string) => `00-${traceId}-${spanId}-01`;
  let taskId: string;
  let spans: ReceivedSpan[];

  const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
  const inTrace = () => receiver.spans().filter((s) => s.traceId === traceId);
  const one = (service: string, name: string | RegExp) => {
    const found = spans.filter(
      (s) => s.service === service && (typeof name === 'string' ? s.name === name : name.test(s.name)),
    );
    if (found.length !== 1)
      throw new Error(
        `expected one ${service} span ${name}, found ${found.length}: ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`,
      );
    return found[0]!;
  };
  const byId = (spanId: string) => spans.find((s) => s.spanId === spanId);
  /** The span's ancestors inside the trace, nearest first. */
  const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
    const parent = byId(span.parentSpanId);
    return parent ? [parent, ...ancestors(parent)] : [];
  };

  /** The SQL of the pg instrumentation's query spans directly under `parent`, in the order they started. */
  const statementsUnder = (parent: ReceivedSpan) =>
    spans
      .filter((s) => s.parentSpanId === parent.spanId && typeof s.attributes['db.query.text'] === 'string')
      .sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1))
      .map((s) => String(s.attributes['db.query.text']).trim());

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    system = await startSystem({
      env: otlpEnv(receiver),
      // The projector logs each applied event at debug level; the query service names its
      // callers on spans (AUTH_TRACE_SUBJECT), which is off everywhere else, as by default.
      perApp: { projector: { LOG_LEVEL: 'debug' }, 'query-service': { AUTH_TRACE_SUBJECT: 'true' } },
    });
    ({ taskId } = await system.command(
      'POST',
      '/tasks',
      { title: 'Traced end to end' },
      { traceparent: traceparent(commandClientSpan) },
    ));
    // Read-your-writes: the query service waits until the projector applied version 1.
    const read = await system.query(`/tasks/${taskId}`, {
      'X-Min-Version': '1',
      traceparent: traceparent(readClientSpan),
    });
    expect(read).toMatchObject({ status: 200, body: { taskId, version: 1 } });
    spans = await receiver.waitFor(
      () =>
        ['command-service', 'outbox-relay', 'projector', 'query-service'].every((service) =>
          inTrace().some((s) => s.service === service && /^(command|outbox|event|query)\./.test(s.name)),
        ) && inTrace().filter((s) => s.service === 'projector' && s.name.startsWith('event.')).length >= 2,
      30_000,
    );
    // Late children (pg statements after the commit) arrive in the next export batch.
    await new Promise((resolve) => setTimeout(resolve, 500));
    spans = inTrace();
  });

  afterAll(async () => {
    await system?.stop();
    await receiver?.close();
  });

  it('spans all four services under one trace id, exported as OTLP http/protobuf', () => {
    expect(new Set(spans.map((s) => s.service))).toEqual(
      new Set(['command-service', 'outbox-relay', 'projector', 'query-service']),
    );
    expect(Object.keys(receiver.requests())).toEqual(['application/x-protobuf']);
    for (const span of spans) expect(span.resource['service.version']).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('POST /tasks -> command.CreateTask -> event_store.append -> its one Postgres statement', () => {
    const server = one('command-service', 'POST /tasks');
    expect(server).toMatchObject({ kind: SPAN_KIND.server, parentSpanId: commandClientSpan });
    const command = one('command-service', 'command.CreateTask');
    expect(ancestors(command)).toContainEqual(server);
    expect(command.attributes).toMatchObject({ 'cqrs.command.type': 'CreateTask', 'cqrs.stream.id': taskId });
    const append = one('command-service', 'event_store.append');
    expect(append.parentSpanId).toBe(command.spanId);
    // Events, outbox rows and their deletion are one call of the group-commit function, atomic
    // on its own; the create (a new stream) loads nothing, so that is the whole trip.
    expect(statementsUnder(append)).toEqual([expect.stringMatching(/FROM cqrs_append_batch\(/)]);
    expect(spans.filter((s) => s.service === 'command-service' && s.name === 'event_store.load')).toEqual([]);
  });

  it("the relay's publish span is a child of the command span: the outbox row's traceparent, forwarded verbatim", () => {
    const command = one('command-service', 'command.CreateTask');
    const publish = one('outbox-relay', 'outbox.publish');
    expect(publish).toMatchObject({ kind: SPAN_KIND.producer, parentSpanId: command.spanId });
    expect(publish.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': system.topic,
      'messaging.kafka.message.key': taskId,
      'cqrs.event.type': 'TaskCreated',
    });
  });

  it('the projector continues the trace from the Kafka header: event.TaskCreated, then the read-model transaction', () => {
    const command = one('command-service', 'command.CreateTask');
    // Two projections follow the event: the tasks read model's, and the projects context's
    // cross-context one; each continues the trace, and says which it is.
    const events = spans.filter((s) => s.service === 'projector' && s.name === 'event.TaskCreated');
    expect(events.map((s) => s.attributes['cqrs.projection']).sort()).toEqual(['projects-task-progress', 'tasks']);
    const event = events.find((s) => s.attributes['cqrs.projection'] === 'tasks')!;
    const other = events.find((s) => s.attributes['cqrs.projection'] === 'projects-task-progress')!;
    expect(other).toMatchObject({ kind: SPAN_KIND.consumer, parentSpanId: command.spanId });
    // The header holds the command span's context (Debezium parity), so the event is its child too.
    expect(event).toMatchObject({ kind: SPAN_KIND.consumer, parentSpanId: command.spanId });
    expect(event.attributes).toMatchObject({
      'messaging.destination.name': system.topic,
      'cqrs.stream.id': taskId,
      'cqrs.event.version': 1,
      'cqrs.event.outcome': 'applied',
    });
    const transaction = one('projector', 'read_model.transaction');
    // A batch of one event: the transaction is that event's child; a batch of several links to each.
    expect(transaction.parentSpanId).toBe(event.spanId);
    // Two round trips: BEGIN with the lock and the read, the write with COMMIT; the values the
    // statements carry inline are not in the trace.
    const texts = statementsUnder(transaction);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(/^BEGIN;\s+SELECT 1 FROM stream_checkpoints_g\d+ .*FOR UPDATE;\s+SELECT /s);
    expect(texts[1]).toMatch(/;\s*COMMIT$/);
    expect(texts.join('\n')).not.toContain(taskId);
    expect(texts.join('\n')).not.toContain('Traced end to end');
    expect(texts[1]).toContain('unnest(?::text[]');
  });

  it('the read gets a query.GetTask span with its cache outcome, under the GET request', () => {
    const server = one('query-service', /^GET /);
    expect(server).toMatchObject({ kind: SPAN_KIND.server, parentSpanId: readClientSpan });
    const query = one('query-service', 'query.GetTask');
    expect(ancestors(query)).toContainEqual(server);
    expect(typeof query.attributes['cqrs.cache.hit']).toBe('boolean');
  });

  it("keeps the caller's identity and token off the spans (personal data, a credential) unless AUTH_TRACE_SUBJECT says so", async () => {
    const token = (await system.auth())['authorization']!.replace(/^Bearer /, '');
    const unnamed = spans.filter((s) => s.service !== 'query-service');
    const values = unnamed.flatMap((s) => Object.values(s.attributes).map(String));
    expect(unnamed.filter((s) => 'enduser.id' in s.attributes).map((s) => `${s.service}:${s.name}`)).toEqual([]);
    expect(values.filter((v) => v.includes(system.subject) || v.includes(token.split('.')[2]!))).toEqual([]);
    // The query service, with AUTH_TRACE_SUBJECT=true, names the caller on its request span only.
    expect(
      spans.filter((s) => 'enduser.id' in s.attributes).map((s) => [s.service, s.name, s.attributes['enduser.id']]),
    ).toEqual([['query-service', one('query-service', /^GET /).name, system.subject]]);
    expect(
      spans.flatMap((s) => Object.values(s.attributes).map(String)).filter((v) => v.includes(token.split('.')[2]!)),
    ).toEqual([]);
  });

  it('no span of the trace failed', () => {
    expect(spans.filter((s) => s.status.code === 2).map((s) => `${s.service}:${s.name}`)).toEqual([]);
  });

  it("logs that request's lines with its trace id, in every service it crossed", async () => {
    const withTrace = (name: keyof RunningSystem['apps']) =>
      logLines(system.apps[name]).filter((line) => line['trace_id'] === traceId);
    await eventually(() => {
      const command = withTrace('command-service');
      expect(command).toContainEqual(
        expect.objectContaining({
          bus: 'command',
          type: 'CreateTask',
          handler: expect.any(String),
          duration_ms: expect.any(Number),
          service: 'command-service',
        }),
      );
      expect(command.every((line) => typeof line['span_id'] === 'string' && line['version'] && line['env'])).toBe(true);
      expect(withTrace('projector')).toContainEqual(
        expect.objectContaining({
          bus: 'event',
          type: 'TaskCreated',
          handler: expect.any(String),
          duration_ms: expect.any(Number),
        }),
      );
      expect(withTrace('query-service')).toContainEqual(
        expect.objectContaining({
          bus: 'query',
          type: 'GetTask',
          cache_key: expect.any(String),
          cache_hit: expect.any(Boolean),
          duration_ms: expect.any(Number),
        }),
      );
    }, 5000);
  });

  it('records a failed command on its span (exception, error status) and logs the failure with the trace id', async () => {
    const failedTrace = randomBytes(16).toString('hex');
    const response = await fetch(`${system.apps['command-service'].url}/tasks/${randomUUID()}/start`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${failedTrace}-${randomBytes(8).toString('hex')}-01`,
        ...(await system.auth()),
      },
      body: '{}',
    });
    expect(response.status).toBe(404);
    const [command] = (
      await receiver.waitFor((all) => all.some((s) => s.traceId === failedTrace && s.name === 'command.StartTask'))
    ).filter((s) => s.traceId === failedTrace && s.name === 'command.StartTask');
    expect(command!.status.code).toBe(2);
    expect(command!.attributes['error.code']).toBe('TASK_NOT_FOUND');
    expect(command!.events).toContainEqual(
      expect.objectContaining({
        name: 'exception',
        attributes: expect.objectContaining({ 'exception.message': expect.stringContaining('does not exist') }),
      }),
    );
    expect(logLines(system.apps['command-service'])).toContainEqual(
      expect.objectContaining({ trace_id: failedTrace, error_code: 'TASK_NOT_FOUND', type: 'StartTask' }),
    );
  });
});
