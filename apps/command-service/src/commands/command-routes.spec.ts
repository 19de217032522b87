import type { CommandBus } from '@nestjs/cqrs';
import type { Response } from 'express';
import type { CommandContext } from './command-context';
import { commandContextOf, dispatchCommand } from './command-routes';

const caller = { subject: 'alice', roles: [], admin: false };
const ID = '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11';

class ArchiveMessage {
  constructor(
    readonly command: { type: 'Archive'; data: { id: string } },
    readonly context: CommandContext,
  ) {}
}

function responseSpy() {
  const headers: Record<string, string> = {};
  const res = { setHeader: (name: string, value: string) => (headers[name] = value) } as unknown as Response;
  return { headers, res };
}

describe('commandContextOf', () => {
  it('reads the command headers, and hashes the route, parameters and body', () => {
    const request = { route: 'POST /things/:id/archive', caller, params: { id: ID }, body: { why: 'done' } };
    const context = commandContextOf({
      ...request,
      headers: { 'idempotency-key': 'k-1', 'if-match': '"3"', 'x-correlation-id': 'c-1', 'x-causation-id': 'x-1' },
    });
    expect(context).toMatchObject({
      route: 'POST /things/:id/archive',
      subject: 'alice',
      idempotencyKey: 'k-1',
      expectedVersion: 3,
      correlationId: 'c-1',
      causationId: 'x-1',
      newStream: false,
    });
    expect(commandContextOf({ ...request, headers: {} }).requestHash).toBe(context.requestHash);
    expect(commandContextOf({ ...request, body: {}, headers: {} }).requestHash).not.toBe(context.requestHash);
  });

  it('makes a correlation id up when none (or an empty one) is sent', () => {
    const context = commandContextOf({ route: 'POST /things', caller, headers: { 'x-correlation-id': '' } });
    expect(context.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a malformed header with a 400 naming it', () => {
    expect(() => commandContextOf({ route: 'POST /things', caller, headers: { 'if-match': '3' } })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });
});

describe('dispatchCommand', () => {
  it('sends the message with its context and answers with ETag, correlation id, replay flag and Location', async () => {
    const sent: ArchiveMessage[] = [];
    const bus = {
      execute: async (message: ArchiveMessage) => (
        sent.push(message),
        { response: { thingId: ID, version: 7 }, replayed: true }
      ),
    } as unknown as CommandBus;
    const { headers, res } = responseSpy();
    const body = await dispatchCommand(bus, res, {
      message: ArchiveMessage,
      command: { type: 'Archive', data: { id: ID } },
      route: 'POST /things/:id/archive',
      caller,
      headers: { 'x-correlation-id': 'c-1' },
      params: { id: ID },
      location: (response: { thingId: string; version: number }) => `/things/${response.thingId}`,
    });
    expect(body).toEqual({ thingId: ID, version: 7 });
    expect(sent[0]).toBeInstanceOf(ArchiveMessage);
    expect(sent[0]?.context).toMatchObject({ route: 'POST /things/:id/archive', subject: 'alice' });
    expect(headers).toEqual({
      ETag: '"7"',
      'X-Correlation-Id': 'c-1',
      'Idempotent-Replayed': 'true',
      Location: `/things/${ID}`,
    });
  });
});
