// The project's own postinstall (and `npm run install:electron`): downloads Electron's binary
// by running the electron package's install.js, which fetches a zip from GitHub's releases
// (or $ELECTRON_MIRROR) into ~/.cache/electron and unpacks it into node_modules/electron/dist.
//
// package.json's allowScripts denies the electron package's own postinstall, which runs the
// same install.js but fails the whole `npm install` when GitHub cannot be reached. Run from
// here, a failed download is a notice instead: everything else is installed, the `electron`
// package (and its type definitions) stays, and `npm start` opens the browser host instead
// of the desktop window until `npm run install:electron` succeeds.
//
// --strict (npm run install:electron): a failed download fails the command.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const strict = process.argv.includes('--strict');
const require = createRequire(import.meta.url);

let installer;
try {
  installer = require.resolve('electron/install.js');
} catch {
  console.error('install-electron: the electron package is not installed (run npm install first)');
  process.exit(strict ? 1 : 0);
}

// A download of ~100 MB over a slow link takes minutes; a connection that hangs forever must not.
const TIMEOUT_MS = 15 * 60_000;
const run = spawnSync(process.execPath, [installer], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', timeout: TIMEOUT_MS });
if (run.status === 0) process.exit(0);

const reason = run.error ? run.error.message : (run.stderr || '').trim().split('\n')[0] || `exit status ${run.status}`;
const lines = [
  `Electron's binary was not downloaded (${reason}).`,
  strict
    ? 'Check the network (or set ELECTRON_MIRROR to a reachable mirror) and run `npm run install:electron` again.'
    : 'Everything else is installed: `npm start` opens Jielong in the browser instead; run `npm run install:electron` to get the desktop window.',
];
console.error(lines.join('\n'));
process.exit(strict ? 1 : 0);
