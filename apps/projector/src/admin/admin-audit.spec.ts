import { DomainError } from '@cqrs/util';
import { Logger, type CallHandler, type ExecutionContext } from '@nestjs/common';
import { lastValueFrom, of, throwError } from 'rxjs';
import { AdminAuditInterceptor } from './admin-audit';

const contextOf = (request: object) =>
  ({ switchToHttp: () => ({ getRequest: () => request }) }) as unknown as ExecutionContext;
const handled = (result: () => unknown): CallHandler => ({
  handle: () => {
    try {
      return of(result());
    } catch (error) {
      return throwError(() => error);
    }
  },
});

describe('AdminAuditInterceptor', () => {
  const logged: { level: string; entry: unknown; message: unknown }[] = [];
  beforeEach(() => {
    logged.length = 0;
    jest
      .spyOn(Logger.prototype, 'log')
      .mockImplementation((entry, message) => void logged.push({ level: 'info', entry, message }));
    jest
      .spyOn(Logger.prototype, 'warn')
      .mockImplementation((entry, message) => void logged.push({ level: 'warn', entry, message }));
  });
  afterEach(() => jest.restoreAllMocks());

  const redrive = {
    method: 'POST',
    url: '/admin/cqrs/dead-letters/12/redrive',
    route: { path: '/admin/cqrs/dead-letters/:id/redrive' },
    params: { id: '12' },
    principal: { subject: 'carol', roles: ['admin'], admin: true },
  };

  it('writes who changed what once it succeeded', async () => {
    await lastValueFrom(
      new AdminAuditInterceptor().intercept(
        contextOf(redrive),
        handled(() => ({ released: 1 })),
      ),
    );
    expect(logged).toEqual([
      {
        level: 'info',
        message: 'admin action',
        entry: {
          audit: 'admin',
          subject: 'carol',
          action: 'POST /admin/cqrs/dead-letters/:id/redrive',
          params: { id: '12' },
          outcome: 'ok',
        },
      },
    ]);
  });

  it('writes a refusal with its code, and passes the error on', async () => {
    const refusal = new DomainError('DEAD_LETTER_NOT_HEAD', 'conflict', 'record #12 waits behind #11');
    const answer = lastValueFrom(
      new AdminAuditInterceptor().intercept(
        contextOf(redrive),
        handled(() => {
          throw refusal;
        }),
      ),
    );
    await expect(answer).rejects.toBe(refusal);
    expect(logged).toMatchObject([{ level: 'warn', entry: { subject: 'carol', outcome: 'DEAD_LETTER_NOT_HEAD' } }]);
  });

  it('leaves reads out of the trail', async () => {
    const read = {
      ...redrive,
      method: 'GET',
      url: '/admin/cqrs/dead-letters',
      route: { path: '/admin/cqrs/dead-letters' },
    };
    await lastValueFrom(
      new AdminAuditInterceptor().intercept(
        contextOf(read),
        handled(() => []),
      ),
    );
    expect(logged).toEqual([]);
  });
});
