// npm start: the decision (desktop window or browser host, and why), the opener for the
// default browser, and npm start as a child process: with the Electron binary missing it
// serves the app to a browser and opens it (a stand-in $BROWSER); with a binary present (a
// stand-in script) it builds and launches it on the app folder.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './build-electron.ts';
import { browserModeLine, browserOpener, parseStartArgs, planStart } from './start.ts';

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

describe('what npm start runs', () => {
  const binary = { ok: true as const, path: '/opt/electron/electron' };

  it('the desktop window where the binary is installed (and Linux has a display)', () => {
    expect(planStart(binary, 'linux', { DISPLAY: ':0' })).toEqual({ mode: 'desktop', electron: binary.path });
    expect(planStart(binary, 'linux', { WAYLAND_DISPLAY: 'wayland-0' })).toEqual({ mode: 'desktop', electron: binary.path });
    expect(planStart(binary, 'darwin', {})).toEqual({ mode: 'desktop', electron: binary.path });
    expect(planStart(binary, 'win32', {})).toEqual({ mode: 'desktop', electron: binary.path });
  });

  it('the browser host, saying why, without the binary or without a display', () => {
    const missing = planStart({ ok: false, reason: 'Electron failed to install correctly' }, 'darwin', {});
    expect(missing.mode).toBe('browser');
    const line = browserModeLine(missing.mode === 'browser' ? missing.why : '');
    expect(line).toContain('not as a desktop window');
    expect(line).toContain('Electron failed to install correctly');
    expect(line).toContain('npm run install:electron');
    expect(line.split('\n')).toHaveLength(1);
    const headless = planStart(binary, 'linux', {});
    expect(headless).toEqual({ mode: 'browser', why: expect.stringContaining('no display') });
  });

  it('opens the page with $BROWSER, open, start or xdg-open, and with nothing when there is none', () => {
    const url = 'http://127.0.0.1:5858/#token=abc';
    const none = () => false;
    expect(browserOpener(url, 'linux', { BROWSER: `/usr/bin/firefox${path.delimiter}/usr/bin/chromium` }, none)).toEqual({ command: '/usr/bin/firefox', args: [url] });
    expect(browserOpener(url, 'darwin', {}, none)).toEqual({ command: 'open', args: [url] });
    expect(browserOpener(url, 'win32', {}, none)).toEqual({ command: 'cmd', args: ['/c', 'start', '', url] });
    expect(browserOpener(url, 'linux', {}, (command) => command === 'xdg-open')).toEqual({ command: 'xdg-open', args: [url] });
    expect(browserOpener(url, 'linux', {}, none)).toBeNull();
    expect(browserOpener(url, 'linux', { BROWSER: '' }, none)).toBeNull();
  });

  it('--no-open is its own; every other argument goes on', () => {
    expect(parseStartArgs(['--port', '0', '--no-open'])).toEqual({ open: false, rest: ['--port', '0'] });
    expect(parseStartArgs(['--flag'])).toEqual({ open: true, rest: ['--flag'] });
  });
});

describe('npm start without the Electron binary', () => {
  it('runs the browser host, prints its address and why it is not the desktop window, and opens the page', async () => {
    const missing = path.join(scratch, 'no-such-electron-dist');
    const distDir = path.join(scratch, 'never-built');
    const rendererDir = path.join(scratch, 'renderer');
    mkdirSync(rendererDir, { recursive: true });
    writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>stand-in</title>');
    // A stand-in browser that records the address it was asked to open.
    const opened = path.join(scratch, 'opened.txt');
    const browser = path.join(scratch, 'fake-browser');
    writeFileSync(browser, `#!${process.execPath}\nrequire('node:fs').writeFileSync(${JSON.stringify(opened)}, process.argv[2]);\n`);
    chmodSync(browser, 0o755);

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'start.ts'), '--port', '0', '--no-model', '--data-dir', path.join(scratch, 'data'), '--renderer-dir', rendererDir],
      { cwd: PROJECT_ROOT, env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: missing, JIELONG_DIST_DIR: distDir, BROWSER: browser }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await expect.poll(() => existsSync(opened) && readFileSync(opened, 'utf8'), { timeout: 60_000, interval: 200 }).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
      const url = readFileSync(opened, 'utf8');
      expect(stdout).toContain(`Jielong is running at ${url}`);
      expect(stdout).toContain(`Jielong runs in your browser, not as a desktop window: the Electron binary is not installed (${path.join(missing, 'electron')} does not exist)`);
      expect(stdout).toContain('npm run install:electron');
      // The page is served.
      const page = await fetch(url.replace(/#.*$/, ''));
      expect(page.status).toBe(200);
      expect(existsSync(distDir)).toBe(false); // nothing of the desktop build
    } catch (error) {
      throw new Error(`${String(error)}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
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

    const run = start({ ELECTRON_OVERRIDE_DIST_PATH: binDir, JIELONG_DIST_DIR: distDir, ELECTRON_RUN_AS_NODE: '1', DISPLAY: ':99' }, ['--flag']);
    expect(run.stdout).not.toContain('not as a desktop window');
    expect(run.status).toBe(7);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual({ args: [distDir, '--flag'], runAsNode: null });
    expect(existsSync(path.join(distDir, 'electron', 'main.cjs'))).toBe(true);
    expect(run.stdout).not.toContain('Building better-sqlite3');
  });
});
