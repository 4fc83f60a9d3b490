// The Electron app end to end, with Playwright's _electron: build dist/, start the real
// binary on it, and check the window. Run: npx playwright test e2e/electron.spec.ts
//
// It needs the Electron binary, which cannot be downloaded on every machine (npm install then
// leaves only the package's types and install script); where it is missing the spec skips
// itself and says why. The browser-host specs cover the UI there.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test } from '@playwright/test';
import type { JielongBridge } from '../electron/preload/bridge.ts';
import { buildElectron } from '../scripts/build-electron.ts';
import { locateElectron, prepareNativeModules } from '../scripts/start.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const binary = locateElectron();
// The one skip e2e/support/skip-policy.ts allows; the reason shows in the test report.
const skipReason = binary.ok ? '' : `the Electron binary is not installed (${binary.reason}); npm run install:electron downloads it`;

test.describe('Electron app', () => {
  test.skip(!binary.ok, skipReason);

  let appDir = path.join(ROOT, 'dist');
  test.beforeAll(async () => {
    test.setTimeout(600_000); // the first run builds better-sqlite3 for Electron
    ({ appDir } = await buildElectron({ log: () => undefined }));
    await prepareNativeModules(appDir);
  });

  test('opens one secure window on app://jielong with window.jielong and no Node', async () => {
    if (!binary.ok) return;
    const testInfo = test.info();
    const userData = testInfo.outputPath('user-data');
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'ELECTRON_RUN_AS_NODE') env[key] = value;
    const app = await electron.launch({ executablePath: binary.path, args: [appDir, `--user-data-dir=${userData}`], env });
    try {
      const win = await app.firstWindow();
      await win.waitForLoadState('domcontentloaded');
      expect(win.url()).toBe('app://jielong/index.html');
      expect(app.windows()).toHaveLength(1);
      const page = await win.evaluate(async () => {
        const api = (globalThis as { jielong?: JielongBridge }).jielong;
        const callAnyName = api?.call as ((name: string, input: unknown) => Promise<unknown>) | undefined;
        return {
          bridge: api ? Object.keys(api).sort() : [],
          // Calls through the one channel, answered by the dispatch.
          settings: await api?.call('settings.get', {}),
          unknown: await callAnyName?.('no.such.call', {}),
          require: typeof (globalThis as { require?: unknown }).require,
          process: typeof (globalThis as { process?: unknown }).process,
        };
      });
      expect(page).toMatchObject({ bridge: ['call', 'on'], settings: { ok: true }, unknown: { ok: false, error: { code: 'unknown_call' } }, require: 'undefined', process: 'undefined' });
      if (!existsSync(path.join(appDir, 'renderer', 'index.html'))) testInfo.annotations.push({ type: 'note', description: 'dist/renderer is not built: the window shows the 404 page' });
      // window.open is denied: still one window.
      await win.evaluate(() => (globalThis as unknown as { open(url: string): unknown }).open('https://example.com/'));
      await win.waitForTimeout(300);
      expect(app.windows()).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});
