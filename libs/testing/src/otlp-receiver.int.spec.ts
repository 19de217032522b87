import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver';

const run = promisify(execFile);

// The receiver the tracing e2e test relies on, fed by the SDK's real OTLP exporters: if it
// misread either encoding, that test could pass or fail for the wrong reason.
describe('the in-test OTLP receiver', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => (receiver = await startOtlpReceiver()));
  afterAll(() => receiver.close());
  beforeEach(() => receiver.clear());

  async function exportTwoSpans(protocol: string) {
    const { stdout } = await run(
      process.execPath,
      [join(__dirname, 'fixtures/export-two-spans.cjs'), protocol, receiver.endpoint],
      {
        env: { ...process.env, OTEL_SDK_DISABLED: 'false' },
        timeout: 20_000,
      },
    );
    return JSON.parse(stdout) as {
      parent: { traceId: string; spanId: string };
      child: { traceId: string; spanId: string };
    };
  }

  it.each([
    ['http/protobuf', 'application/x-protobuf'],
    ['http/json', 'application/json'],
  ])('decodes %s exports: ids, parentage, links, attributes, status and events', async (protocol, contentType) => {
    const ids = await exportTwoSpans(protocol);
    const spans = await receiver.waitFor((s) => s.length === 2, 5000);
    expect(receiver.requests()[contentType]).toBeGreaterThan(0);
    const parent = spans.find((s) => s.name === 'command.CreateTask')!;
    const child = spans.find((s) => s.name === 'event.TaskCreated')!;
    expect(parent).toMatchObject({
      service: 'unit',
      scope: 'receiver-test',
      traceId: ids.parent.traceId,
      spanId: ids.parent.spanId,
      parentSpanId: '',
      kind: 2,
      attributes: { 'cqrs.command.type': 'CreateTask', n: 3, ok: true },
    });
    expect(parent.resource['service.version']).toBe('1.2.3');
    expect(child).toMatchObject({
      traceId: ids.parent.traceId,
      spanId: ids.child.spanId,
      parentSpanId: ids.parent.spanId,
      kind: 5,
      status: { code: 2, message: 'boom' },
    });
    expect(child.links).toEqual([
      { traceId: ids.parent.traceId, spanId: ids.parent.spanId, attributes: { why: 'batch' } },
    ]);
    expect(child.events[0]).toMatchObject({ name: 'exception', attributes: { 'exception.message': 'boom' } });
    expect(child.endTimeUnixNano).toBeGreaterThanOrEqual(child.startTimeUnixNano);
  });

  it('rejects a body that is not an export request, and times out a wait that is never met', async () => {
    const response = await fetch(`${receiver.endpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'not json',
    });
    expect(response.status).toBe(400);
    await expect(receiver.waitFor((s) => s.length > 0, 200)).rejects.toThrow('condition not met within 200 ms');
  });
});
