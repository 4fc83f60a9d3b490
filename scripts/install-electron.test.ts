// The project's postinstall (scripts/install-electron.mjs), run from a copy next to a stand-in
// electron package: a failed download is a notice and exit 0 (so npm install succeeds), but a
// failure of `npm run install:electron` (--strict) is exit 1.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './build-electron.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'jielong-install-electron-'));
  mkdirSync(path.join(root, 'scripts'));
  copyFileSync(path.join(PROJECT_ROOT, 'scripts', 'install-electron.mjs'), path.join(root, 'scripts', 'install-electron.mjs'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function fakeElectron(installJs: string): void {
  const dir = path.join(root, 'node_modules', 'electron');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'electron', version: '0.0.0', main: 'index.js' }));
  writeFileSync(path.join(dir, 'install.js'), installJs);
}

function run(...args: string[]) {
  const env = { ...process.env };
  delete env['ELECTRON_SKIP_BINARY_DOWNLOAD'];
  return spawnSync(process.execPath, [path.join(root, 'scripts', 'install-electron.mjs'), ...args], { cwd: root, env, encoding: 'utf8' });
}

const OFFLINE = "process.stderr.write('RequestError: getaddrinfo ENOTFOUND github.com\\n    at ClientRequest.<anonymous>\\n'); process.exit(1);";

describe('install-electron', () => {
  it('turns a failed download into a notice and exit 0 for npm install', () => {
    fakeElectron(OFFLINE);
    const result = run();
    expect(result.status).toBe(0);
    expect(result.stderr).toContain("Electron's binary was not downloaded (RequestError: getaddrinfo ENOTFOUND github.com)");
    expect(result.stderr).toContain('npm run install:electron');
  });

  it('fails with --strict (npm run install:electron)', () => {
    fakeElectron(OFFLINE);
    const result = run('--strict');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('ELECTRON_MIRROR');
  });

  it('says nothing when the download works', () => {
    fakeElectron("console.log('downloaded'); process.exit(0);");
    for (const args of [[], ['--strict']]) {
      const result = run(...args);
      expect(result.status).toBe(0);
      expect(result.stderr).toBe('');
    }
  });

  it('without the electron package: exit 0, or 1 with --strict', () => {
    expect(run().status).toBe(0);
    expect(run('--strict').status).toBe(1);
  });
});
