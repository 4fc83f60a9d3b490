// Before the browser-host specs: build the renderer into dist/renderer (the page the host
// serves), unless E2E_SKIP_BUILD=1 says it is already fresh. Says why when Chromium is missing.
import { build } from 'vite';
import { chromiumAvailable, chromiumMissingReason } from './chromium.ts';
import { ROOT } from './test-host.ts';

export default async function globalSetup(): Promise<void> {
  if (!chromiumAvailable()) {
    console.log(`e2e browser specs skipped: ${chromiumMissingReason()}`);
    return;
  }
  if (process.env['E2E_SKIP_BUILD'] === '1') return;
  await build({ configFile: `${ROOT}/vite.renderer.config.ts`, logLevel: 'error' });
}
