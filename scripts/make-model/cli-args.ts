// Parses `npm run make:model -- ...` arguments. Separate from cli.ts so tests can call it.
import { parseArgs } from 'node:util';
import { MODEL_DTYPES, type ModelDtype } from './graph.ts';
import { isPresetName, PRESET_NAMES } from './presets.ts';
import type { MakeModelOptions } from './make-model.ts';

export const USAGE = `Usage: npm run make:model -- --preset ${PRESET_NAMES.join('|')} [--dtype fp32|q8|q4|all] [--seed N] --out DIR

Writes a Llama-architecture ONNX model with seeded random weights, its byte-level BPE
tokenizer (ChatML) and configs, in the folder layout transformers.js loads offline.

  --preset   tiny (hidden 64, 2 layers, 512-token vocab) or smollm2 (SmolLM2-135M's shapes)
  --dtype    which ONNX files: fp32 (onnx/model.onnx), q8 (model_quantized.onnx),
             q4 (model_q4.onnx); a comma-separated list or "all" (the default)
  --seed     weight seed, an integer in [0, 4294967295] (default 0)
  --out      the folder to write (created if missing)`;

/** A mistake in the arguments: cli.ts prints it with the usage and exits with status 2. */
export class UsageError extends Error {}

export type CliCommand = { kind: 'help' } | { kind: 'make'; options: MakeModelOptions };

export function parseCliArgs(argv: readonly string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        preset: { type: 'string' },
        dtype: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return { kind: 'help' };

  if (values.preset === undefined) throw new UsageError(`--preset is required (${PRESET_NAMES.join(' or ')})`);
  if (!isPresetName(values.preset)) throw new UsageError(`unknown preset "${values.preset}" (expected ${PRESET_NAMES.join(' or ')})`);
  if (values.out === undefined || values.out.trim() === '') throw new UsageError('--out DIR is required');

  let dtype: ModelDtype[] = [...MODEL_DTYPES];
  if (values.dtype !== undefined && values.dtype !== 'all') {
    dtype = [];
    for (const part of values.dtype.split(',').map((s) => s.trim())) {
      if (!(MODEL_DTYPES as readonly string[]).includes(part)) {
        throw new UsageError(`unknown dtype "${part}" (expected ${MODEL_DTYPES.join(', ')} or all)`);
      }
      dtype.push(part as ModelDtype);
    }
  }

  let seed = 0;
  if (values.seed !== undefined) {
    if (!/^\d+$/.test(values.seed) || Number(values.seed) > 0xffffffff) {
      throw new UsageError(`--seed must be an integer in [0, 4294967295], got "${values.seed}"`);
    }
    seed = Number(values.seed);
  }
  return { kind: 'make', options: { preset: values.preset, dtype, seed, outDir: values.out } };
}
