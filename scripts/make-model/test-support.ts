// Helpers for the make-model tests: run a generated decoder with onnxruntime-node directly,
// and compare rows of logits.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Architecture } from './presets.ts';

export interface DecoderRun {
  /** [batch][position] rows of vocab logits. */
  logits: Float32Array[][];
  /** present.{i}.key/.value, to feed back as past_key_values. */
  present: Record<string, ort.Tensor>;
}

export function emptyPast(arch: Architecture, batch = 1): Record<string, ort.Tensor> {
  const past: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < arch.numHiddenLayers; layer++) {
    for (const kind of ['key', 'value']) {
      past[`past_key_values.${layer}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [batch, arch.numKeyValueHeads, 0, arch.headDim]);
    }
  }
  return past;
}

const int64 = (rows: readonly (readonly number[])[]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0]?.length ?? 0]);

/**
 * One session run. `tokens[b]` are the new tokens of row b; `mask[b]` covers past + new
 * (default all ones); positions default to past length + index.
 */
export async function runDecoder(
  session: ort.InferenceSession,
  arch: Architecture,
  tokens: readonly (readonly number[])[],
  options: { past?: Record<string, ort.Tensor>; mask?: readonly (readonly number[])[]; positions?: readonly (readonly number[])[] } = {},
): Promise<DecoderRun> {
  const batch = tokens.length;
  const past = options.past ?? emptyPast(arch, batch);
  const pastLength = past['past_key_values.0.key']?.dims[2] ?? 0;
  const newLength = tokens[0]?.length ?? 0;
  const mask = options.mask ?? tokens.map(() => Array.from({ length: pastLength + newLength }, () => 1));
  const positions = options.positions ?? tokens.map(() => Array.from({ length: newLength }, (_, i) => pastLength + i));
  const output = await session.run({ input_ids: int64(tokens), attention_mask: int64(mask), position_ids: int64(positions), ...past });
  const logitsTensor = output['logits'];
  if (!logitsTensor) throw new Error('no logits output');
  const data = logitsTensor.data as Float32Array;
  const logits = tokens.map((_, b) =>
    Array.from({ length: newLength }, (_, s) => data.slice((b * newLength + s) * arch.vocabSize, (b * newLength + s + 1) * arch.vocabSize)),
  );
  const present: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(output)) {
    if (name.startsWith('present.')) present[name.replace('present.', 'past_key_values.')] = tensor;
  }
  return { logits, present };
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

/** ||a - b|| / ||b|| over all rows: the size of the error relative to the signal. */
export function relativeRmsError(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  let error = 0;
  let signal = 0;
  a.forEach((row, r) => {
    const other = b[r] as ArrayLike<number>;
    for (let i = 0; i < row.length; i++) {
      error += ((row[i] as number) - (other[i] as number)) ** 2;
      signal += (other[i] as number) ** 2;
    }
  });
  return Math.sqrt(error / signal);
}

export async function makeTempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
