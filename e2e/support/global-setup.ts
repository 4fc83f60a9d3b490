// Before the browser-host specs: build the renderer into dist/renderer (the page the host
// serves), unless E2E_SKIP_BUILD=1 says it is already fresh. Without Chromium the browser specs
// cannot run, and that is a failure, not a skip (e2e/support/skip-policy.ts).
import { build } from 'vite';
import { chromiumAvailable, chromiumMissingReason } from './chromium.ts';
import { ROOT } from './test-host.ts';

export default async function globalSetup(): Promise<void> {
  if (!chromiumAvailable()) throw new Error(`The browser specs cannot run: ${chromiumMissingReason()}`);
  if (process.env['E2E_SKIP_BUILD'] === '1') return;
  await build({ configFile: `${ROOT}/vite.renderer.config.ts`, logLevel: 'error' });
}
