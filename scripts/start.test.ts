// npm start as a child process: with the Electron binary missing (as on this machine, where
// it cannot be downloaded) it must fail fast with a message that names the alternatives; with
// a binary present (a stand-in script) it builds and launches it on the app folder.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './build-electron.ts';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'jielong-start-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function start(env: Record<string, string | undefined>, args: string[] = []) {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'start.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env: childEnv as NodeJS.ProcessEnv,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const electronInstalled = existsSync(path.join(PROJECT_ROOT, 'node_modules', 'electron', 'path.txt'));

describe('npm start without the Electron binary', () => {
  it.skipIf(electronInstalled)('exits 1 before building and names npm run serve and how to get Electron (require throws)', () => {
    const distDir = path.join(scratch, 'never-built');
    const run = start({ ELECTRON_OVERRIDE_DIST_PATH: undefined, JIELONG_DIST_DIR: distDir });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('the Electron binary is not installed');
    expect(run.stderr).toContain('npm run serve');
    expect(run.stderr).toContain('npm install');
    expect(run.stderr).toContain('ELECTRON_SKIP_BINARY_DOWNLOAD');
    expect(run.stderr).toContain('Electron failed to install correctly'); // the reason, from the electron package
    expect(existsSync(distDir)).toBe(false);
  });

  it('exits 1 when the path the electron package returns does not exist', () => {
    const missing = path.join(scratch, 'no-such-electron-dist');
    const distDir = path.join(scratch, 'never-built-2');
    const run = start({ ELECTRON_OVERRIDE_DIST_PATH: missing, JIELONG_DIST_DIR: distDir });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('npm run serve');
    expect(run.stderr).toContain(`${path.join(missing, 'electron')} does not exist`);
    expect(existsSync(distDir)).toBe(false);
  });
});

describe('npm start with a binary', () => {
  it.skipIf(process.platform === 'win32')('builds, then runs the binary on the app folder without ELECTRON_RUN_AS_NODE, and passes its exit code on', () => {
    const binDir = path.join(scratch, 'fake-electron');
    const record = path.join(scratch, 'launched.json');
    mkdirSync(binDir);
    const fake = path.join(binDir, 'electron');
    writeFileSync(
      fake,
      `#!${process.execPath}\nrequire('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ args: process.argv.slice(2), runAsNode: process.env.ELECTRON_RUN_AS_NODE ?? null }));\nprocess.exit(7);\n`,
    );
    chmodSync(fake, 0o755);
    // An Electron build of better-sqlite3 is already in place: start must not rebuild it.
    const distDir = path.join(scratch, 'dist');
    const electronVersion = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;
    const moduleVersion = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
    mkdirSync(path.join(distDir, 'node_modules', 'better-sqlite3', 'build', 'Release'), { recursive: true });
    writeFileSync(path.join(distDir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), 'stand-in');
    writeFileSync(
      path.join(distDir, 'node_modules', '.jielong-native.json'),
      JSON.stringify({ electron: electronVersion, platform: process.platform, arch: process.arch, module: moduleVersion }),
    );

    const run = start({ ELECTRON_OVERRIDE_DIST_PATH: binDir, JIELONG_DIST_DIR: distDir, ELECTRON_RUN_AS_NODE: '1' }, ['--flag']);
    expect(run.stderr).not.toContain('not installed');
    expect(run.status).toBe(7);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual({ args: [distDir, '--flag'], runAsNode: null });
    expect(existsSync(path.join(distDir, 'electron', 'main.cjs'))).toBe(true);
    expect(run.stdout).not.toContain('Building better-sqlite3');
  });
});
