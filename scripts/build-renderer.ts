// Builds the renderer with Vite into `outDir` (default dist/renderer): used by `npm start` and
// by `npm run serve` when no build is there yet, so the quick start needs no extra step.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export function buildRenderer(outDir = path.join(ROOT, 'dist', 'renderer')): void {
  const vite = path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--config', path.join(ROOT, 'vite.renderer.config.ts'), '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`Building the renderer failed (vite exited with ${result.status ?? result.signal})`);
}
