// `npm run serve`: the browser host (electron/server/cli.ts, same arguments), after building
// the renderer into dist/renderer when no build is there yet, so the quick start needs no
// extra step. The build step lives here, with the other build tools, and is handed to the
// host's command line rather than imported by it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runServeCli } from '../electron/server/cli.ts';
import { buildRenderer } from './build-renderer.ts';

function ensureRenderer(dir: string): void {
  if (existsSync(path.join(dir, 'index.html'))) return;
  console.log('Building the renderer first (once)…');
  buildRenderer(dir);
}

runServeCli(process.argv.slice(2), { ensureRenderer }).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
