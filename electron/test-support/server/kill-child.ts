// The child process of the kill test (electron/server/kill.test.ts): the browser host with the real services
// over a data folder, the model host replaced by the scripted stand-in (its answers stream at
// a steady pace). It prints {"url": ...} once it listens; the parent kills it with SIGKILL.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scriptedSpawner } from '../../../e2e/support/scripted-host.ts';
import { startBrowserHost } from '../../server/browser-host.ts';
import { createAppServices } from '../../services/app-services.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The answer the scripted model streams: long enough that a kill lands mid-answer. */
export function killTestAnswer(turn: number): string {
  const words: string[] = [];
  for (let i = 0; i < 400; i += 1) words.push(i % 7 === 0 ? `模型${turn}-${i}` : `word${(i * 7919) % 1000}`);
  return words.join(' ');
}

async function main(): Promise<void> {
  const [root] = process.argv.slice(2);
  if (root === undefined) throw new Error('usage: kill-child <folder>');
  const rendererDir = path.join(root, 'renderer');
  mkdirSync(rendererDir, { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Jielong</title>');
  const services = createAppServices({
    dataDir: path.join(root, 'data'),
    bundledModelsDir: path.join(ROOT, 'resources', 'models'),
    spawnHost: scriptedSpawner({ answer: (_messages, turn) => killTestAnswer(turn), tokensPerBatch: 1, batchDelayMs: 1 }),
  });
  const host = await startBrowserHost({ dispatch: services.dispatch, events: services.events, rendererDir, port: 0 });
  await services.loadDefaultModel();
  process.stdout.write(`${JSON.stringify({ port: host.port, token: host.token, model: services.models.getStatus().state })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
