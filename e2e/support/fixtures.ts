// The fixtures of the browser-host specs: a fresh host (fresh data folder) per test, and a
// page opened on it with the app ready, watching for what must never happen — page errors,
// CSP violations, requests that leave the host.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test as base, expect, type Page, type TestInfo } from '@playwright/test';
import { ROOT, startTestHost, type TestHost, type TestHostOptions } from './test-host.ts';

export { expect };

export interface PageWatch {
  pageErrors: string[];
  cspViolations: string[];
  /** Requests to anything but the test host (there must be none). */
  outsideRequests: string[];
}

interface Fixtures {
  hostOptions: TestHostOptions;
  host: TestHost;
  app: Page;
  watch: PageWatch;
  /** The UI language and colour scheme the page starts with. */
  locale: string;
}

export const test = base.extend<Fixtures>({
  hostOptions: [{}, { option: true }],
  host: async ({ hostOptions }, use) => {
    const host = await startTestHost(hostOptions);
    try {
      await use(host);
    } finally {
      await host.close();
    }
  },
  watch: async ({ page }, use) => {
    const watch: PageWatch = { pageErrors: [], cspViolations: [], outsideRequests: [] };
    page.on('pageerror', (error) => watch.pageErrors.push(error.message));
    // Something the CSP blocked ("Refused to ..."); not the browser's notes about the policy itself.
    page.on('console', (message) => {
      if (message.type() === 'error' && /Refused to|violates the following Content Security Policy/i.test(message.text())) watch.cspViolations.push(message.text());
    });
    page.on('request', (request) => {
      const url = request.url();
      if (!/^(http|ws):\/\/127\.0\.0\.1:\d+\//.test(url) && !url.startsWith('data:')) watch.outsideRequests.push(url);
    });
    await use(watch);
  },
  app: async ({ page, host, watch }, use) => {
    await page.goto(host.url);
    await expect(page.getByTestId('composer')).toBeVisible();
    await use(page);
    expect(watch.pageErrors, 'page errors').toEqual([]);
    expect(watch.cspViolations, 'CSP violations').toEqual([]);
    expect(watch.outsideRequests, 'requests leaving the host').toEqual([]);
  },
});

/** Waits for the answer being written to end (the composer shows Send again). */
export async function waitForAnswer(page: Page, timeout = 30_000): Promise<void> {
  // A send still on its way has no answer on screen yet: wait for it to be taken first.
  await expect(page.locator('form.composer[aria-busy="true"]')).toHaveCount(0, { timeout });
  await expect(page.getByTestId('send')).toBeVisible({ timeout });
  await expect(page.locator('[data-status="streaming"]')).toHaveCount(0, { timeout });
}

/** Types a message in the composer and sends it with Enter. */
export async function send(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await expect(composer).toBeEnabled({ timeout: 20_000 });
  await composer.fill(text);
  await composer.press('Enter');
}

/** Saves a screenshot as a test artifact and under test-results/screenshots/ (stable names). */
export async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<string> {
  const folder = path.join(ROOT, 'test-results', 'screenshots');
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled' });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
  return file;
}

/** The assistant messages' text as shown (markdown rendered). */
export function answers(page: Page) {
  return page.locator('article[data-role="assistant"]');
}
