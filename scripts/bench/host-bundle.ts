// The model host as the app ships it, for the benches: bundled JavaScript, not TypeScript
// through tsx (whose compiler alone adds ~170 MiB to the process and would distort memory
// and CPU figures).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function bundledHostEntry(outfile = path.join(ROOT, '.models', 'bench-model-host.cjs')): Promise<string> {
  await build({
    entryPoints: [path.join(ROOT, 'electron/model-host/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    external: ['@huggingface/transformers', 'onnxruntime-node', 'sharp'],
    logLevel: 'error',
  });
  return outfile;
}
