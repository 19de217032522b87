import { exitOf, startApp } from '@cqrs/testing';

// The built relay's start-up contract: a bad configuration stops it at once, readably.
describe('outbox-relay process', () => {
  it('refuses to start on invalid configuration, naming each variable and the fix', async () => {
    const app = await startApp(
      'outbox-relay',
      {
        OUTBOX_HEADER_PLACEMENT: 'traceparent:envelope:tp',
        OUTBOX_TOPIC_PARTITIONS: 'six',
        OUTBOX_SLOT_NAME: 'Bad Slot',
      },
      { waitFor: null },
    );
    expect(await exitOf(app)).toBe(2);
    const output = app.output();
    expect(output).toContain('outbox-relay: invalid configuration');
    expect(output).toContain(
      'OUTBOX_HEADER_PLACEMENT: "traceparent:envelope:tp" places traceparent in "envelope"; only "header" is supported',
    );
    expect(output).toContain('OUTBOX_TOPIC_PARTITIONS');
    expect(output).toContain('OUTBOX_SLOT_NAME: a slot name is 1-63 lower-case letters, digits or underscores');
  });
});
