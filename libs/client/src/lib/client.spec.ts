import { MutationObserver, QueryClient } from '@tanstack/query-core';
import { createCqrsClient } from './client';
import { ConflictError, ProblemError } from './problem-error';
import { queryKeys } from './query-keys';

const TASK = '00000000-0000-4000-8000-000000000001';

/** A fake service: answers from `answer`, remembering each request. */
function fakeFetch(answer: (request: Request) => Response) {
  const requests: Request[] = [];
  const fetch = async (request: Request) => {
    requests.push(request);
    return answer(request);
  };
  return { requests, fetch };
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers },
  });
const view = (version: number) => ({ taskId: TASK, ownerId: 'alice', title: 't', version });

describe('createCqrsClient (against a fake fetch)', () => {
  // Query clients keep answers for gcTime on timers; they are cleared after each test.
  const queryClients: QueryClient[] = [];
  const newQueryClient = () => {
    const queryClient = new QueryClient();
    queryClients.push(queryClient);
    return queryClient;
  };
  afterEach(() => queryClients.splice(0).forEach((queryClient) => queryClient.clear()));

  it('asks the token provider before every request and sends the bearer token', async () => {
    const { requests, fetch } = fakeFetch(() => json(200, view(1)));
    let token: string | undefined = 'one';
    const client = createCqrsClient({
      baseUrls: { commands: 'http://c', queries: 'http://q/' },
      token: () => token,
      fetch,
    });
    await client.tasks.detail(TASK).queryFn({ signal: new AbortController().signal } as never);
    token = undefined;
    await client.tasks.detail(TASK).queryFn({ signal: new AbortController().signal } as never);
    expect(requests.map((r) => [r.url, r.headers.get('authorization')])).toEqual([
      [`http://q/tasks/${TASK}`, 'Bearer one'],
      [`http://q/tasks/${TASK}`, null],
    ]);
  });

  it('sends If-Match and one Idempotency-Key for every attempt of a command, then reads its version back', async () => {
    let attempts = 0;
    const { requests, fetch } = fakeFetch((request) => {
      if (request.url.startsWith('http://c')) {
        attempts++;
        return attempts === 1
          ? json(
              503,
              { status: 503, code: 'EVENT_STORE_UNAVAILABLE', title: 'Service Unavailable' },
              { 'retry-after': '0' },
            )
          : json(200, { taskId: TASK, version: 4 });
      }
      return json(200, view(4));
    });
    const client = createCqrsClient({ baseUrls: { commands: 'http://c', queries: 'http://q' }, fetch });
    const queryClient = newQueryClient();
    await new MutationObserver(queryClient, client.tasks.start()).mutate({ id: TASK, expectedVersion: 3 });
    const [first, second] = requests;
    expect([first!.method, first!.url, first!.headers.get('if-match')]).toEqual([
      'POST',
      `http://c/tasks/${TASK}/start`,
      '"3"',
    ]);
    expect(second!.headers.get('idempotency-key')).toBe(first!.headers.get('idempotency-key'));
    expect(first!.headers.get('idempotency-key')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );

    await queryClient.fetchQuery(client.tasks.detail(TASK));
    await queryClient.fetchQuery(client.tasks.myList());
    expect(requests.slice(2).map((r) => [r.url, r.headers.get('x-min-version')])).toEqual([
      [`http://q/tasks/${TASK}`, '4'],
      ['http://q/me/tasks', `${TASK}:4`],
    ]);
  });

  it('surfaces a 412 as a ConflictError and a 404 as a ProblemError, without retrying either', async () => {
    const { requests, fetch } = fakeFetch((request) =>
      request.method === 'POST'
        ? json(412, { status: 412, code: 'VERSION_MISMATCH', title: 'Precondition Failed', detail: 'stale' })
        : json(404, { status: 404, code: 'TASK_NOT_FOUND', title: 'Not Found' }),
    );
    const client = createCqrsClient({ baseUrls: { commands: 'http://c', queries: 'http://q' }, fetch });
    const queryClient = newQueryClient();
    const conflict = new MutationObserver(queryClient, client.tasks.complete()).mutate({
      id: TASK,
      expectedVersion: 1,
    });
    await expect(conflict).rejects.toBeInstanceOf(ConflictError);
    await expect(conflict).rejects.toMatchObject({ status: 412, code: 'VERSION_MISMATCH', detail: 'stale' });
    const missing = queryClient.fetchQuery(client.tasks.detail(TASK));
    await expect(missing).rejects.toBeInstanceOf(ProblemError);
    await expect(missing).rejects.toMatchObject({ status: 404, code: 'TASK_NOT_FOUND' });
    expect(requests).toHaveLength(2);
  });

  it('invalidates what a command changed: the task, the lists, the statistics', async () => {
    const { fetch } = fakeFetch((request) =>
      request.url.startsWith('http://c') ? json(200, { taskId: TASK, version: 2 }) : json(200, view(2)),
    );
    const client = createCqrsClient({ baseUrls: { commands: 'http://c', queries: 'http://q' }, fetch });
    const queryClient = newQueryClient();
    const other = '00000000-0000-4000-8000-000000000009';
    for (const key of [
      queryKeys.tasks.detail(TASK),
      queryKeys.tasks.detail(other),
      queryKeys.tasks.myList(),
      queryKeys.tasks.myStats(),
    ])
      queryClient.setQueryData(key, {});
    await new MutationObserver(queryClient, client.tasks.abandon()).mutate({ id: TASK, reason: 'no' });
    const invalidated = queryClient
      .getQueryCache()
      .getAll()
      .filter((q) => q.state.isInvalidated)
      .map((q) => q.queryKey);
    expect(invalidated).toEqual([queryKeys.tasks.detail(TASK), queryKeys.tasks.myList(), queryKeys.tasks.myStats()]);
  });

  it('turns a failed fetch into a NETWORK_ERROR problem, and leaves an abort an abort', async () => {
    const refused = createCqrsClient({
      baseUrls: { commands: 'http://c', queries: 'http://q' },
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
      retry: { maxAttempts: 1 },
    });
    await expect(newQueryClient().fetchQuery(refused.tasks.myStats())).rejects.toMatchObject({
      status: 0,
      code: 'NETWORK_ERROR',
    });
    let seen: AbortSignal | undefined;
    const aborting = createCqrsClient({
      baseUrls: { commands: 'http://c', queries: 'http://q' },
      fetch: (request) =>
        new Promise((_resolve, reject) => {
          seen = request.signal;
          // as fetch does: an aborted signal rejects at once, or when it aborts
          if (request.signal.aborted) reject(request.signal.reason);
          request.signal.addEventListener('abort', () => reject(request.signal.reason));
        }),
    });
    const controller = new AbortController();
    const pending = aborting.tasks.detail(TASK).queryFn({ signal: controller.signal } as never);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen?.aborted).toBe(true);
  });
});
