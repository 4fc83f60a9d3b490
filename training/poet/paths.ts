// Where the training pipeline keeps its inputs and outputs. Everything but the final model
// folder lives under .cache/train (ignored by git).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TRAIN_CACHE = path.join(REPO_ROOT, '.cache/train');
export const CORPUS_DIR = path.join(TRAIN_CACHE, 'node_modules/chinese-poetry/dist/quantangshi');
export const WORK_DIR = path.join(TRAIN_CACHE, 'poet');
export const PREPARED_FILE = path.join(WORK_DIR, 'corpus.json');
/** The trainer's exported weights: weights.bin (float32, in manifest order) and weights.json. */
export const EXPORT_DIR = path.join(WORK_DIR, 'export');
export const MODEL_DIR = path.join(REPO_ROOT, 'resources/models/jielong-poet');
