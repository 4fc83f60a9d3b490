// `npm start`: always runs Jielong.
//
//   desktop  where the Electron binary is installed (and, on Linux, there is a display): build
//            the Electron side (scripts/build-electron.ts) and the renderer, then run Electron
//            on dist/.
//   browser  otherwise (the `electron` package's path.txt is missing, so require('electron')
//            throws, or the path it returns does not exist; or no display): one line says why
//            it is not the desktop window, then the browser host starts exactly as
//            `npm run serve` does (scripts/serve.ts, same arguments), its address is
//            printed, and it is opened in the default browser when there is one ($BROWSER,
//            open, start or xdg-open; `--no-open` or none found: only printed).
//
// better-sqlite3 must be built for Electron's ABI inside Electron and for Node's ABI in the
// tests. The project's node_modules keeps the Node build; for a development run a copy of the
// package goes to dist/node_modules/better-sqlite3 and is rebuilt there for Electron (with
// @electron/rebuild, scoped to dist/ so it cannot touch the project's copy). dist/electron/*.cjs
// resolve 'better-sqlite3' from dist/node_modules first, everything else from the project.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

export type ElectronBinary = { ok: true; path: string } | { ok: false; reason: string };

/** Where the `electron` package says its binary is, if it is really there. */
export function locateElectron(): ElectronBinary {
  let binary: unknown;
  try {
    binary = require('electron');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // The package's own advice (delete node_modules/electron and reinstall) would not help
    // where the download cannot work; what is true is that the download has not happened.
    if (message.startsWith('Electron failed to install correctly')) return { ok: false, reason: "node_modules/electron has no binary: Electron's download did not run or failed" };
    return { ok: false, reason: message };
  }
  if (typeof binary !== 'string' || binary === '') return { ok: false, reason: 'the electron package did not return a path' };
  if (!existsSync(binary)) return { ok: false, reason: `${binary} does not exist` };
  return { ok: true, path: binary };
}

/** What `npm start` runs: the desktop window, or the browser host and why not the window. */
export type StartPlan = { mode: 'desktop'; electron: string } | { mode: 'browser'; why: string };

export function planStart(electron: ElectronBinary, platform: string = process.platform, env: NodeJS.ProcessEnv = process.env): StartPlan {
  if (!electron.ok) return { mode: 'browser', why: `the Electron binary is not installed (${electron.reason}); \`npm run install:electron\` downloads it` };
  // Electron on Linux needs an X11 or Wayland display; without one it exits at once.
  if (platform === 'linux' && !env['DISPLAY'] && !env['WAYLAND_DISPLAY']) return { mode: 'browser', why: 'there is no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset)' };
  return { mode: 'desktop', electron: electron.path };
}

/** The one line that says why Jielong is not opening as a desktop window. */
export function browserModeLine(why: string): string {
  return `Jielong runs in your browser, not as a desktop window: ${why}.`;
}

export interface Opener {
  command: string;
  args: string[];
}

/**
 * How to open a URL in the default browser: $BROWSER when set (its first entry), else `open` on
 * macOS, `start` on Windows, xdg-open elsewhere when it is on the PATH; null when there is none.
 */
export function browserOpener(url: string, platform: string = process.platform, env: NodeJS.ProcessEnv = process.env, onPath: (command: string) => boolean = commandOnPath): Opener | null {
  const chosen = (env['BROWSER'] ?? '').split(path.delimiter).find((entry) => entry.trim() !== '');
  if (chosen) return { command: chosen.trim(), args: [url] };
  if (platform === 'darwin') return { command: 'open', args: [url] };
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '', url] }; // '' is start's window title
  return onPath('xdg-open') ? { command: 'xdg-open', args: [url] } : null;
}

function commandOnPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, command)));
}

/** `npm start -- --no-open`: do not open a browser tab; every other argument goes on. */
export function parseStartArgs(args: string[]): { open: boolean; rest: string[] } {
  return { open: !args.includes('--no-open'), rest: args.filter((arg) => arg !== '--no-open') };
}

interface NativeMarker {
  electron: string;
  platform: string;
  arch: string;
  module: string;
}

/**
 * Makes dist/node_modules/better-sqlite3 an Electron build of the project's better-sqlite3,
 * unless it already is one for this Electron version, platform and architecture.
 */
export async function prepareNativeModules(appDir: string): Promise<void> {
  const electronVersion = String((JSON.parse(readFileSync(path.join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version);
  const source = path.join(ROOT, 'node_modules', 'better-sqlite3');
  const moduleVersion = String((JSON.parse(readFileSync(path.join(source, 'package.json'), 'utf8')) as { version: string }).version);
  const wanted: NativeMarker = { electron: electronVersion, platform: process.platform, arch: process.arch, module: moduleVersion };
  const markerFile = path.join(appDir, 'node_modules', '.jielong-native.json');
  const target = path.join(appDir, 'node_modules', 'better-sqlite3');
  try {
    const current = JSON.parse(readFileSync(markerFile, 'utf8')) as NativeMarker;
    if (JSON.stringify(current) === JSON.stringify(wanted) && existsSync(path.join(target, 'build', 'Release', 'better_sqlite3.node'))) return;
  } catch {
    // no marker yet: build
  }
  console.log(`Building better-sqlite3 ${moduleVersion} for Electron ${electronVersion} in ${path.relative(ROOT, target)} (once)...`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(path.dirname(target), { recursive: true });
  const oldBuild = path.join(source, 'build');
  cpSync(source, target, { recursive: true, filter: (file) => file !== oldBuild && !file.startsWith(oldBuild + path.sep) });
  const { rebuild } = await import('@electron/rebuild');
  // node-gyp takes its headers from npm_config_nodedir when that is set (npm passes a user's
  // `nodedir` setting to every script), which would compile against Node's headers instead of
  // Electron's. Unset it for the rebuild.
  const saved = { lower: process.env.npm_config_nodedir, upper: process.env.NPM_CONFIG_NODEDIR };
  delete process.env.npm_config_nodedir;
  delete process.env.NPM_CONFIG_NODEDIR;
  try {
    await rebuild({
      buildPath: appDir,
      projectRootPath: appDir,
      electronVersion,
      arch: process.arch,
      onlyModules: ['better-sqlite3'],
      force: true,
    });
  } finally {
    if (saved.lower !== undefined) process.env.npm_config_nodedir = saved.lower;
    if (saved.upper !== undefined) process.env.NPM_CONFIG_NODEDIR = saved.upper;
  }
  const { electronAbi, nativeModulesWithWrongAbi } = await import('./electron-after-pack.mjs');
  const wrong = nativeModulesWithWrongAbi(target, electronAbi());
  if (wrong.length > 0) {
    throw new Error(`better-sqlite3 was built for ABI ${wrong[0]!.abi}, not Electron's ${electronAbi()}; delete ${path.relative(ROOT, target)} and try again.`);
  }
  writeFileSync(markerFile, `${JSON.stringify(wanted, null, 2)}\n`);
}

async function runBrowserHost(why: string, args: string[], open: boolean): Promise<void> {
  console.log(browserModeLine(why));
  const cli = path.join(ROOT, 'scripts', 'serve.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: ROOT, stdio: ['inherit', 'pipe', 'inherit'] });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const url = /^Jielong is running at (\S+)/.exec(line)?.[1];
      if (url) openInBrowser(url, open);
    }
  });
}

function openInBrowser(url: string, open: boolean): void {
  const opener = open ? browserOpener(url) : null;
  if (!opener) {
    console.log(open ? `No default browser found here: open ${url} yourself.` : `Open ${url} in a browser.`);
    return;
  }
  console.log(`Opening ${url} in your browser (${opener.command}).`);
  try {
    const child = spawn(opener.command, opener.args, { stdio: 'ignore', detached: true });
    child.on('error', () => console.log(`Could not start ${opener.command}: open ${url} yourself.`));
    child.unref();
  } catch {
    console.log(`Could not start ${opener.command}: open ${url} yourself.`);
  }
}

async function main(): Promise<void> {
  const { open, rest } = parseStartArgs(process.argv.slice(2));
  const plan = planStart(locateElectron());
  if (plan.mode === 'browser') return runBrowserHost(plan.why, rest, open);

  const { buildElectron } = await import('./build-electron.ts');
  // JIELONG_DIST_DIR builds and runs somewhere other than dist/ (the tests use it).
  const { appDir } = await buildElectron(process.env.JIELONG_DIST_DIR ? { outDir: path.resolve(process.env.JIELONG_DIST_DIR) } : {});
  const { buildRenderer } = await import('./build-renderer.ts');
  buildRenderer(path.join(appDir, 'renderer'));
  await prepareNativeModules(appDir);

  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE; // would make the binary a plain Node
  const child = spawn(plan.electron, [appDir, ...rest], { stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
