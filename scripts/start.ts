// `npm start`: build the Electron side (scripts/build-electron.ts), then run Electron on dist/.
//
// If the Electron binary is not installed (the `electron` package's path.txt is missing, so
// require('electron') throws, or the path it returns does not exist), this exits with status 1
// and says what to do instead, before building anything.
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
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  if (typeof binary !== 'string' || binary === '') return { ok: false, reason: 'the electron package did not return a path' };
  if (!existsSync(binary)) return { ok: false, reason: `${binary} does not exist` };
  return { ok: true, path: binary };
}

export function missingElectronMessage(reason: string): string {
  return [
    'Jielong cannot start as a desktop app here: the Electron binary is not installed.',
    `(the electron package says: ${reason})`,
    '',
    'To use Jielong in your browser instead, run:',
    '',
    '  npm run serve',
    '',
    'To get Electron, run `npm install` with network access and without the',
    'ELECTRON_SKIP_BINARY_DOWNLOAD environment variable set (or `node node_modules/electron/install.js`),',
    'then `npm start` again.',
  ].join('\n');
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

async function main(): Promise<void> {
  const electron = locateElectron();
  if (!electron.ok) {
    console.error(missingElectronMessage(electron.reason));
    process.exit(1);
  }
  const { buildElectron } = await import('./build-electron.ts');
  // JIELONG_DIST_DIR builds and runs somewhere other than dist/ (the tests use it).
  const { appDir } = await buildElectron(process.env.JIELONG_DIST_DIR ? { outDir: path.resolve(process.env.JIELONG_DIST_DIR) } : {});
  const { buildRenderer } = await import('./build-renderer.ts');
  buildRenderer(path.join(appDir, 'renderer'));
  await prepareNativeModules(appDir);

  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE; // would make the binary a plain Node
  const child = spawn(electron.path, [appDir, ...process.argv.slice(2)], { stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
