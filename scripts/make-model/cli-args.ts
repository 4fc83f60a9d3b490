// Parses `npm run make:model -- ...` arguments. Separate from cli.ts so tests can call it.
import { parseArgs } from 'node:util';
import { MODEL_DTYPES, type ModelDtype } from './graph.ts';
import { isPresetName, PRESET_NAMES } from './presets.ts';
import type { MakeModelOptions } from './make-model.ts';
import { FAMILY_DTYPES, MIRROR_SPECS, type FamilyDtype, type MakeMirrorOptions } from './mirrors.ts';
import { GGUF_TENSOR_TYPES, type GgufTensorType } from './gguf.ts';

export const USAGE = `Usage: npm run make:model -- --preset ${PRESET_NAMES.join('|')} [--dtype fp32|q8|q4|all] [--seed N] [--gguf T[,T...]] --out DIR
       npm run make:model -- --mirror ID [--dtype D[,D...]|all] [--full-size] [--seed N]
                             [--external-data-chunks N] [--num-logits-to-keep] [--gguf T[,T...]] --out DIR

Writes a Llama-architecture ONNX model with seeded random weights, its byte-level BPE
tokenizer (ChatML) and configs, in the folder layout transformers.js loads offline.

  --preset   tiny (hidden 64, 2 layers, 512-token vocab) or smollm2 (SmolLM2-135M's shapes)
  --dtype    which ONNX files: fp32 (onnx/model.onnx), q8 (model_quantized.onnx),
             q4 (model_q4.onnx); a comma-separated list or "all" (the default)
  --seed     weight seed, an integer in [0, 4294967295] (default 0)
  --out      the folder to write (created if missing)

--mirror writes a random-weight stand-in for a catalog model (same architecture family,
ONNX graph style, file names and config.json as the real export; tiny unless --full-size):
  ID         ${Object.keys(MIRROR_SPECS).join(', ')}
  --dtype    ${FAMILY_DTYPES.join(', ')} (file names as transformers.js expects:
             model.onnx, model_fp16, model_quantized, model_q4, model_q4f16);
             default: the catalog's dtypes for that model; "all" = all five
  --full-size               the real model's dimensions (slow, GBs) instead of tiny ones
  --external-data-chunks N  split each external-data file into about N chunks
                            (<file>.onnx_data, <file>.onnx_data_1, ...)
  --num-logits-to-keep      add the optional int64 num_logits_to_keep input

--gguf also writes the same weights as GGUF for llama.cpp (<out>/model-<T>.gguf), T one of
${GGUF_TENSOR_TYPES.join(', ')} or "all"; presets and the llama/qwen2 mirrors (gguf.ts).`;

/** A mistake in the arguments: cli.ts prints it with the usage and exits with status 2. */
export class UsageError extends Error {}

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'make'; options: MakeModelOptions; gguf?: GgufTensorType[] }
  | { kind: 'mirror'; options: MakeMirrorOptions; gguf?: GgufTensorType[] };

export function parseCliArgs(argv: readonly string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        preset: { type: 'string' },
        mirror: { type: 'string' },
        'full-size': { type: 'boolean' },
        'external-data-chunks': { type: 'string' },
        'num-logits-to-keep': { type: 'boolean' },
        dtype: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        gguf: { type: 'string' },
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
  const gguf = parseGguf(values.gguf);
  if (values.mirror !== undefined) return { ...parseMirrorArgs(values), ...(gguf ? { gguf } : {}) } as CliCommand;
  for (const flag of ['full-size', 'external-data-chunks', 'num-logits-to-keep'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --mirror`);
  }

  if (values.preset === undefined) throw new UsageError(`--preset is required (${PRESET_NAMES.join(' or ')}), or --mirror ID`);
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

  return { kind: 'make', options: { preset: values.preset, dtype, seed: parseSeed(values.seed), outDir: values.out }, ...(gguf ? { gguf } : {}) };
}

function parseGguf(value: string | undefined): GgufTensorType[] | undefined {
  if (value === undefined) return undefined;
  if (value === 'all') return [...GGUF_TENSOR_TYPES];
  return value.split(',').map((part) => {
    const type = part.trim();
    if (!(GGUF_TENSOR_TYPES as readonly string[]).includes(type)) throw new UsageError(`unknown GGUF type "${type}" (expected ${GGUF_TENSOR_TYPES.join(', ')} or all)`);
    return type as GgufTensorType;
  });
}

function parseSeed(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new UsageError(`--seed must be an integer in [0, 4294967295], got "${value}"`);
  return Number(value);
}

interface MirrorValues {
  preset?: string;
  mirror?: string;
  dtype?: string;
  seed?: string;
  out?: string;
  'full-size'?: boolean;
  'external-data-chunks'?: string;
  'num-logits-to-keep'?: boolean;
}

function parseMirrorArgs(values: MirrorValues): CliCommand {
  const id = values.mirror as string;
  if (values.preset !== undefined) throw new UsageError('--preset and --mirror cannot be combined');
  const spec = MIRROR_SPECS[id];
  if (!spec) throw new UsageError(`unknown mirror "${id}" (expected ${Object.keys(MIRROR_SPECS).join(', ')})`);
  if (values.out === undefined || values.out.trim() === '') throw new UsageError('--out DIR is required');
  let dtype: FamilyDtype[] = [...spec.dtypes];
  if (values.dtype === 'all') dtype = [...FAMILY_DTYPES];
  else if (values.dtype !== undefined) {
    dtype = [];
    for (const part of values.dtype.split(',').map((s) => s.trim())) {
      if (!(FAMILY_DTYPES as readonly string[]).includes(part)) throw new UsageError(`unknown dtype "${part}" (expected ${FAMILY_DTYPES.join(', ')} or all)`);
      dtype.push(part as FamilyDtype);
    }
  }
  const options: MakeMirrorOptions = { catalogId: id, dtype, seed: parseSeed(values.seed), outDir: values.out };
  if (values['full-size']) options.fullSize = true;
  if (values['num-logits-to-keep']) options.numLogitsToKeep = true;
  const chunks = values['external-data-chunks'];
  if (chunks !== undefined) {
    if (!/^[1-9]\d?$/.test(chunks)) throw new UsageError(`--external-data-chunks must be an integer in [1, 99], got "${chunks}"`);
    options.externalDataChunks = Number(chunks);
  }
  return { kind: 'mirror', options };
}
