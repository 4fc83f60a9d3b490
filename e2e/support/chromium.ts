// Debian's Chromium is the browser of the e2e tests (Playwright cannot download its own here).
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = process.env['JIELONG_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function chromiumMissingReason(): string {
  return `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install -y chromium) or set JIELONG_CHROMIUM`;
}

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM_PATH);
