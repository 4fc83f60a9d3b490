// Playwright: the browser-host specs (e2e/*.spec.ts, in Debian's Chromium against a fresh
// browser host per test) and the Electron spec (e2e/electron.spec.ts, which skips itself
// without the Electron binary: the only skip e2e/support/skip-policy.ts lets pass). Run by
// `npm test` after Vitest.
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './e2e/support/chromium.ts';

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  globalSetup: './e2e/support/global-setup.ts',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // Two cores: the page, the host and the model share them.
  workers: process.env['CI'] ? 2 : 2,
  fullyParallel: true,
  // CI retries a failed spec once, and the list reporter names it flaky: a clean-clone run saw
  // the page's WebSocket drop ("Connection lost") mid-test in two specs that pass alone and
  // in repeated runs; the cause is not found yet. Locally a failure fails at once.
  retries: process.env['CI'] ? 1 : 0,
  // skip-policy: lists every skipped test with its reason and fails the run on any skip but
  // the Electron spec's (no Electron binary).
  reporter: [['list'], ['./e2e/support/skip-policy.ts']],
  projects: [
    {
      name: 'browser',
      testIgnore: ['electron.spec.ts'],
      use: {
        browserName: 'chromium',
        viewport: { width: 1280, height: 800 },
        launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
        trace: 'retain-on-failure',
        screenshot: 'only-on-failure',
      },
    },
    { name: 'electron', testMatch: ['electron.spec.ts'] },
  ],
});
