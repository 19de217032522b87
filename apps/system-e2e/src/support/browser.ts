import { repoRoot } from '@cqrs/testing';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';

const exec = promisify(execFile);

/**
 * Debian's Chromium driven by playwright-core (Playwright's own browser downloads come from a CDN
 * this project does not rely on): `tools/scripts/ensure-chromium.sh` finds it, or installs it once
 * per machine, and prints its path.
 */
export async function launchBrowser(): Promise<Browser> {
  const { stdout } = await exec('bash', [join(repoRoot(), 'tools/scripts/ensure-chromium.sh')], {
    timeout: 600_000,
  });
  const executablePath = stdout.trim();
  return chromium.launch({
    executablePath,
    headless: true,
    // Chromium's sandbox needs user namespaces, which root in a container often lacks.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}

/** A page whose console errors and failed requests are kept, to explain a failing test. */
export async function newPage(browser: Browser, viewport = { width: 1280, height: 860 }): Promise<Page> {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  (page as Page & { problems: string[] }).problems = problems;
  return page;
}

/** What went wrong in the page so far (uncaught errors, console errors). */
export const pageProblems = (page: Page): string[] => (page as Page & { problems?: string[] }).problems ?? [];

/**
 * Saves a screenshot of the page as `<name>.png` in $SCREENSHOTS_DIR when it is set: `npm run
 * console:screenshots` refreshes the ones in docs/images that the README and docs/console.md show.
 * Otherwise it does nothing, so a test run leaves the checkout as it found it.
 */
export async function screenshot(page: Page, name: string, { fullPage = false } = {}): Promise<void> {
  const target = process.env['SCREENSHOTS_DIR'];
  if (!target) return;
  const dir = join(repoRoot(), target);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage });
}
