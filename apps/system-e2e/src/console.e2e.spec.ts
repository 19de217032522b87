import { createKafka } from '@cqrs/messaging';
import { getTestInfra } from '@cqrs/testing';
import { randomUUID } from 'node:crypto';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser, newPage, pageProblems, screenshot } from './support/browser';
import { startConsole, type ConsoleProcess } from './support/console';
import { eventually, startSystem, type RunningSystem } from './support/system';

// The web console in a real browser (Debian's Chromium through playwright-core), in front of the
// four built apps on the real stack: what a person sees and does, asserted as they would notice it.
describe('the web console, in a browser', () => {
  let system: RunningSystem;
  let server: ConsoleProcess;
  let browser: Browser;
  const pages: Page[] = [];
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    system = await startSystem();
    [server, browser] = await Promise.all([startConsole(system), launchBrowser()]);
  }, 300_000);

  afterEach(() => {
    // A page that threw or logged an error failed, whatever it showed.
    for (const page of pages.splice(0)) expect(pageProblems(page).filter((p) => !expectedProblem(p))).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await system?.stop();
  });

  // A refused request is logged by Chromium as a failed resource load; the tests cause some on purpose.
  const expectedProblem = (problem: string) =>
    /Failed to load resource: the server responded with a status of (404|409|412|503)/.test(problem);

  const open = async (viewport?: { width: number; height: number }) => {
    const page = await newPage(browser, viewport);
    pages.push(page);
    return page;
  };

  /** Development sign-in, as a person does it: a user name, the admin box, the button. */
  const signIn = async (page: Page, user: string, { admin = false } = {}) => {
    await page.goto(server.url);
    await page.getByLabel('User name').fill(user);
    if (admin) await page.getByLabel('Admin role').check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Tasks' }).waitFor();
  };

  const column = (page: Page, name: string): Locator => page.getByRole('region', { name, exact: true });
  const card = (scope: Page | Locator, title: string): Locator => scope.getByRole('article', { name: title });

  const createTask = async (page: Page, title: string) => {
    await page.getByLabel('Title').fill(title);
    await page.getByRole('button', { name: 'Create task' }).click();
    await card(column(page, 'Open'), title).waitFor();
  };

  it('signs in with a development token, creates a task and moves it across the board', async () => {
    const page = await open();
    const user = `console-${run}`;
    await signIn(page, user);
    await page.getByText(`Signed in as ${user}`).waitFor();

    const title = `Write the release notes ${run}`;
    await createTask(page, title);
    await card(column(page, 'Open'), title).getByRole('button', { name: 'Start' }).click();
    await card(column(page, 'In progress'), title).waitFor();
    expect(await card(column(page, 'Open'), title).count()).toBe(0);
    await card(column(page, 'In progress'), title).getByRole('button', { name: 'Complete' }).click();
    await card(column(page, 'Done'), title).waitFor();
    expect(await card(column(page, 'In progress'), title).count()).toBe(0);
    await screenshot(page, 'console-tasks');

    // What the browser showed is what the read side holds (once the projector applied it).
    await eventually(async () => {
      const { body } = await system.as(user).query('/me/tasks');
      expect((body['items'] as { title: string; status: string }[]).map((t) => [t.title, t.status])).toEqual([
        [title, 'completed'],
      ]);
    });
  });

  it('says why a command was refused when another tab changed the task first', async () => {
    const user = `tabs-${run}`;
    const [first, second] = [await open(), await open()];
    await signIn(first, user);
    await signIn(second, user);
    const title = `Plan the offsite ${run}`;
    await createTask(first, title);
    await second.reload();
    await card(column(second, 'Open'), title).waitFor();

    await card(column(first, 'Open'), title).getByRole('button', { name: 'Delete' }).click();
    await eventually(async () => expect(await card(first, title).count()).toBe(0));

    // The second tab still shows it: starting it is refused, and the page says so.
    await card(column(second, 'Open'), title).getByRole('button', { name: 'Start' }).click();
    await second
      .getByRole('alert')
      .filter({ hasText: /deleted|not found|no longer/i })
      .first()
      .waitFor();
  });

  it('shows a parked record to an operator, who discards the poison and redrives what waited behind it', async () => {
    const page = await open();
    const admin = `operator-${run}`;
    await signIn(page, admin, { admin: true });
    const title = `Reconcile the ledger ${run}`;
    await createTask(page, title);
    const taskId = await card(column(page, 'Open'), title).getAttribute('data-task-id');
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/);

    // A record no decoder can read, keyed by that task: the projector parks it and, behind it,
    // every later event of the task.
    const infra = await getTestInfra();
    const producer = createKafka({ clientId: `console-e2e-${run}`, ...infra.kafka }).producer();
    await producer.connect();
    try {
      await producer.send({
        topic: system.topic,
        messages: [{ key: taskId!, value: Buffer.from('not an Avro record') }],
      });
    } finally {
      await producer.disconnect();
    }
    await page.getByRole('link', { name: 'Operations' }).click();
    const letters = page.getByRole('region', { name: 'Dead letters' });
    const rowsOfTask = letters.getByRole('row').filter({ hasText: taskId! });
    await eventually(async () => expect(await rowsOfTask.count()).toBe(1), 60_000);

    // The user starts the task meanwhile: accepted by the write side, parked behind the poison.
    await page.getByRole('link', { name: 'Tasks' }).click();
    await card(column(page, 'Open'), title).getByRole('button', { name: 'Start' }).click();
    await page.getByRole('link', { name: 'Operations' }).click();
    await eventually(async () => expect(await rowsOfTask.count()).toBe(2), 60_000);
    await screenshot(page, 'console-operations', { fullPage: true });

    // Redriving the poison as it is fails again, and says so; discarding it leaves the started event.
    await rowsOfTask.first().getByRole('button', { name: 'Redrive' }).click();
    await page
      .getByText(/failed again and stays parked/)
      .first()
      .waitFor();
    await rowsOfTask.first().getByRole('button', { name: 'Discard' }).click();
    await eventually(async () => expect(await rowsOfTask.count()).toBe(1));
    await rowsOfTask.first().getByRole('button', { name: 'Redrive' }).click();
    await page.getByText(/Redrove record \d+: 1 applied/).waitFor();
    await eventually(async () => expect(await rowsOfTask.count()).toBe(0));

    // And the board shows the task started.
    await page.getByRole('link', { name: 'Tasks' }).click();
    await card(column(page, 'In progress'), title).waitFor();
  });

  it('rebuilds the tasks projection with a progress bar, to the end', async () => {
    const page = await open();
    await signIn(page, `rebuilder-${run}`, { admin: true });
    await createTask(page, `Count the spoons ${run}`);
    await page.getByRole('link', { name: 'Operations' }).click();
    const tasks = page.getByRole('region', { name: 'tasks', exact: true });
    const generation = async () =>
      Number(
        await tasks.locator('dt', { hasText: 'Generation' }).locator('xpath=following-sibling::dd[1]').textContent(),
      );
    const before = await generation();
    expect(before).toBeGreaterThanOrEqual(1);
    await tasks.getByRole('button', { name: 'Start rebuild' }).click();
    await tasks.getByRole('progressbar', { name: 'Rebuild of tasks' }).waitFor();
    await tasks.getByText('succeeded', { exact: true }).waitFor({ timeout: 120_000 });
    expect(await tasks.getByRole('progressbar', { name: 'Rebuild of tasks' }).getAttribute('value')).toBe('100');
    await eventually(async () => expect(await generation()).toBe(before + 1));
    await screenshot(page, 'console-rebuild');

    // The rebuilt read model still answers the board.
    await page.getByRole('link', { name: 'Tasks' }).click();
    await card(column(page, 'Open'), `Count the spoons ${run}`).waitFor();
  });

  it('works at a phone width: the board and its controls stay reachable', async () => {
    const page = await open({ width: 375, height: 740 });
    await signIn(page, `phone-${run}`);
    await createTask(page, `Call the plumber ${run}`);
    // (no horizontal scrolling: nothing is wider than the screen)
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    expect(width).toBeLessThanOrEqual(375);
    await screenshot(page, 'console-phone');
  });
});
