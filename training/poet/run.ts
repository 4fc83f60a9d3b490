// npm run train:demo: installs the pinned corpus (into the ignored .cache/train, never into
// the app), prepares it, trains the poet with PyTorch, and writes resources/models/jielong-poet
// through make:model's graph writer.
//   npm run train:demo                      everything (about 30 minutes on two shared cores)
//   npm run train:demo -- --minutes 10      a shorter schedule (--steps N: exactly N steps)
//   npm run train:demo -- --resume          go on from the last checkpoint of an interrupted run
//   npm run train:demo -- --write-only      rewrite the model folder from the last export
//   npm run train:demo -- --evaluate        JSON lines of quality figures for the last training
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writePoetModel } from '../../scripts/make-model/poet-model.ts';
import { EXPORT_DIR, MODEL_DIR, PREPARED_FILE, REPO_ROOT, TRAIN_CACHE, WORK_DIR } from './paths.ts';

/** The corpus and the converter, pinned; see README.md. */
const CORPUS_PACKAGES = ['chinese-poetry@2.0.1', 'opencc-js@1.4.2'];
const HERE = path.dirname(new URL(import.meta.url).pathname);
/** Debian's python3-torch lives in the system Python; PYTHON overrides. */
const PYTHON = process.env['PYTHON'] ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const EVALUATION_FILE = 'evaluation.jsonl';
/** PyTorch's logits on one example, which scripts/make-model/poet-model.test.ts holds the TypeScript forward to. */
const PROBE_FILE = path.join(REPO_ROOT, 'scripts/make-model/poet-probe.json');

function python(args: string[], capture = false): string {
  // One BLAS thread: on a shared two-core machine a second one mostly waits (training/poet/README.md).
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', PYTHONUNBUFFERED: '1' };
  const result = spawnSync(PYTHON, [path.join(HERE, 'train.py'), ...args], { cwd: HERE, env, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  if (result.error) throw new Error(`train:demo: cannot run ${PYTHON} (${result.error.message}); install python3-torch`);
  if (result.status !== 0) throw new Error(`train:demo: train.py ${args[0]} failed (exit ${result.status})`);
  return result.stdout ?? '';
}

function installCorpus(): void {
  const installed = CORPUS_PACKAGES.every((spec) => {
    const [name, version] = spec.split('@') as [string, string];
    const file = path.join(TRAIN_CACHE, 'node_modules', name, 'package.json');
    return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version === version;
  });
  if (installed) return;
  mkdirSync(TRAIN_CACHE, { recursive: true });
  execFileSync('npm', ['install', '--prefix', TRAIN_CACHE, '--no-save', '--no-audit', '--no-fund', ...CORPUS_PACKAGES], { stdio: 'inherit' });
}

async function prepare(): Promise<void> {
  mkdirSync(WORK_DIR, { recursive: true });
  // Imported here: prepare.ts loads opencc-js from the cache installed just above.
  const { prepareCorpus } = await import('./prepare.ts');
  const corpus = prepareCorpus();
  writeFileSync(PREPARED_FILE, JSON.stringify(corpus));
  console.log(JSON.stringify({ step: 'prepare', trainPoems: corpus.train.length, heldOutPoems: corpus.heldOut.length, vocabulary: corpus.vocabulary.length, coverage: corpus.coverage }));
}

async function writeModel(): Promise<void> {
  const { vocabulary, train } = JSON.parse(readFileSync(PREPARED_FILE, 'utf8')) as { vocabulary: string[]; train: unknown[] };
  const files = await writePoetModel({ weightsDir: EXPORT_DIR, vocabulary, outDir: MODEL_DIR, trainPoems: train.length });
  const bytes = Object.values(files).reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ step: 'write', dir: path.relative(process.cwd(), MODEL_DIR), bytes }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '30' }, steps: { type: 'string' }, evaluate: { type: 'boolean' }, 'write-only': { type: 'boolean' }, resume: { type: 'boolean' } } });
  if (values.evaluate) {
    if (!existsSync(path.join(WORK_DIR, 'checkpoint.pt'))) throw new Error('train:demo --evaluate: no trained model in .cache/train/poet; run npm run train:demo first');
    const lines = python(['evaluate'], true);
    process.stdout.write(lines);
    writeFileSync(path.join(MODEL_DIR, EVALUATION_FILE), lines);
    return;
  }
  if (!values['write-only']) {
    installCorpus();
    await prepare();
    python(['train', '--minutes', values.minutes, ...(values.steps ? ['--steps', values.steps] : []), ...(values.resume ? ['--resume'] : [])]);
    python(['export']);
    python(['probe', PROBE_FILE]);
    // The figures of the previous model would stand beside new weights: measure again.
    rmSync(path.join(MODEL_DIR, EVALUATION_FILE), { force: true });
    console.log(JSON.stringify({ next: 'npm run train:demo -- --evaluate' }));
  }
  await writeModel();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
