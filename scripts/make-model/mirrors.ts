// Stand-ins ("mirrors") for the catalog's real model repos: same architecture family, same
// ONNX graph style, same file names and config fields as the published export, with seeded
// random weights; tiny by default (seconds, a few MB), the real dimensions with fullSize.
//
// Exported API:
//   CATALOG_MIRRORS: Record<CatalogMirrorId, MirrorSpec>   one per resources/catalog/models.json id
//   FAMILY_PRESETS:  Record<FamilyPresetName, MirrorSpec>  non-catalog: 'qwen3-gqa-rotary', 'gemma3-nomask'
//   MIRROR_SPECS:    both, by name
//   makeMirror({ catalogId, dtype?, fullSize?, seed?, outDir, externalDataChunks? }): Promise<MakeModelResult>
//     catalogId: a CATALOG_MIRRORS id or a FAMILY_PRESETS name. dtype: one or several of the
//     spec's dtypes (default: all of them). seed default 0. externalDataChunks: split each
//     external-data file into about this many chunks (`<file>.onnx_data`, `_data_1`, ...).
//   makeFamilyPreset({ preset, dtype?, fullSize?, seed?, outDir }): the same, by FAMILY_PRESETS name
//   mirrorArchitecture(spec, fullSize): FamilyArchitecture
//   mirrorFiles(spec, dtype): string[]     the onnx/ paths a dtype writes (model + external data)
//
// Folder: config.json (model_type/architectures for transformers.js 4.3.1, rope_scaling,
// transformers.js_config.use_external_data_format keyed by file name, kv_cache_dtype for the
// float16 files), generation_config.json, tokenizer.json + tokenizer_config.json (the shared
// byte-level BPE with the ChatML template and <|im_start|>/<|im_end|>, not the family's own
// template), jielong.json, README.md, onnx/*.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FamilyArchitecture, ArchKind } from './family.ts';
import { buildFamilyModel, FAMILY_DTYPES, FAMILY_ONNX_FILE_NAMES, isFloat16Dtype, type FamilyDtype, type GraphStyle } from './family-graph.ts';
import { writeOnnxModel, writeOnnxModelWithExternalData } from './onnx-writer.ts';
import { PRESETS } from './presets.ts';
import { buildTokenizer, SPECIAL_TOKEN_IDS, tokenizerJsonText } from './tokenizer.ts';

export { FAMILY_DTYPES, FAMILY_ONNX_FILE_NAMES, GRAPH_STYLES, type FamilyDtype, type GraphStyle } from './family-graph.ts';
export type { FamilyArchitecture, ArchKind } from './family.ts';

export interface MirrorSpec {
  /** Catalog id or preset name. */
  readonly name: string;
  /** The Hugging Face repo this stands in for. */
  readonly repo: string;
  readonly title: string;
  readonly kind: ArchKind;
  readonly style: GraphStyle;
  /** The dtypes the catalog (or the real repo) offers, written by default. */
  readonly dtypes: readonly FamilyDtype[];
  /** Dtypes whose weights go to `onnx/<file>.onnx_data` (as the real repo ships them). */
  readonly externalData: readonly FamilyDtype[];
  /** false: no attention_mask input (the first gemma-3 export). Default true. */
  readonly attentionMask?: boolean;
  /** Added to the 0-based positions the rotary sees: 1 where transformers.js feeds gemma3 1-based position_ids. */
  readonly positionOffset?: number;
  readonly numLogitsToKeep?: boolean;
  readonly tiny: FamilyArchitecture;
  readonly full: FamilyArchitecture;
}

/** The tiny preset's shapes (presets.ts): each tiny mirror changes only what its family needs. */
const { ropeTheta: _tinyRopeTheta, ...TINY_BASE } = PRESETS.tiny.architecture;

const LLAMA3_SCALING = { ropeType: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } as const;

const GEMMA3_TINY: FamilyArchitecture = {
  ...TINY_BASE,
  kind: 'gemma3_text',
  // 6 layers so that the pattern has its global layer (layer 5); a 4-key window so that a
  // 23-token prompt exercises the sliding window.
  numHiddenLayers: 6,
  numKeyValueHeads: 1,
  headDim: 32,
  intermediateSize: 128,
  rmsNormEps: 1e-6,
  ropeTheta: 1e6,
  ropeLocalTheta: 1e4,
  slidingWindow: 4,
  slidingWindowPattern: 6,
  queryPreAttnScalar: 32,
};
const GEMMA3_FULL: FamilyArchitecture = {
  kind: 'gemma3_text',
  hiddenSize: 1152,
  numHiddenLayers: 26,
  numAttentionHeads: 4,
  numKeyValueHeads: 1,
  headDim: 256,
  intermediateSize: 6912,
  vocabSize: 262144,
  maxPositionEmbeddings: 32768,
  rmsNormEps: 1e-6,
  ropeTheta: 1e6,
  ropeLocalTheta: 1e4,
  slidingWindow: 512,
  slidingWindowPattern: 6,
  queryPreAttnScalar: 256,
};

export const CATALOG_MIRRORS = {
  'smollm2-135m-instruct': {
    name: 'smollm2-135m-instruct',
    repo: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    title: 'SmolLM2 135M Instruct mirror',
    kind: 'llama',
    style: 'optimum',
    dtypes: ['q4', 'fp32'],
    externalData: [],
    tiny: { ...TINY_BASE, kind: 'llama', numAttentionHeads: 3, numKeyValueHeads: 1, hiddenSize: 48, intermediateSize: 128, ropeTheta: 1e5 },
    full: { kind: 'llama', hiddenSize: 576, numHiddenLayers: 30, numAttentionHeads: 9, numKeyValueHeads: 3, headDim: 64, intermediateSize: 1536, vocabSize: 49152, maxPositionEmbeddings: 8192, rmsNormEps: 1e-5, ropeTheta: 1e5 },
  },
  'smollm2-360m-instruct': {
    name: 'smollm2-360m-instruct',
    repo: 'HuggingFaceTB/SmolLM2-360M-Instruct',
    title: 'SmolLM2 360M Instruct mirror',
    kind: 'llama',
    style: 'optimum',
    dtypes: ['q4', 'fp32'],
    externalData: [],
    tiny: { ...TINY_BASE, kind: 'llama', numAttentionHeads: 3, numKeyValueHeads: 1, hiddenSize: 48, numHiddenLayers: 3, intermediateSize: 128, ropeTheta: 1e5 },
    full: { kind: 'llama', hiddenSize: 960, numHiddenLayers: 32, numAttentionHeads: 15, numKeyValueHeads: 5, headDim: 64, intermediateSize: 2560, vocabSize: 49152, maxPositionEmbeddings: 8192, rmsNormEps: 1e-5, ropeTheta: 1e5 },
  },
  'smollm2-1.7b-instruct': {
    name: 'smollm2-1.7b-instruct',
    repo: 'HuggingFaceTB/SmolLM2-1.7B-Instruct',
    title: 'SmolLM2 1.7B Instruct mirror',
    kind: 'llama',
    style: 'optimum',
    dtypes: ['q4', 'fp32'],
    externalData: [],
    tiny: { ...TINY_BASE, kind: 'llama', numKeyValueHeads: 4, ropeTheta: 130000 },
    full: { kind: 'llama', hiddenSize: 2048, numHiddenLayers: 24, numAttentionHeads: 32, numKeyValueHeads: 32, headDim: 64, intermediateSize: 8192, vocabSize: 49152, maxPositionEmbeddings: 8192, rmsNormEps: 1e-5, ropeTheta: 130000 },
  },
  'qwen2.5-0.5b-instruct': {
    name: 'qwen2.5-0.5b-instruct',
    repo: 'onnx-community/Qwen2.5-0.5B-Instruct',
    title: 'Qwen2.5 0.5B Instruct mirror',
    kind: 'qwen2',
    style: 'optimum',
    dtypes: ['q4', 'q8'],
    externalData: [],
    tiny: { ...TINY_BASE, kind: 'qwen2', numKeyValueHeads: 1, rmsNormEps: 1e-6, ropeTheta: 1e6 },
    full: { kind: 'qwen2', hiddenSize: 896, numHiddenLayers: 24, numAttentionHeads: 14, numKeyValueHeads: 2, headDim: 64, intermediateSize: 4864, vocabSize: 151936, maxPositionEmbeddings: 32768, rmsNormEps: 1e-6, ropeTheta: 1e6 },
  },
  'qwen2.5-1.5b-instruct': {
    name: 'qwen2.5-1.5b-instruct',
    repo: 'onnx-community/Qwen2.5-1.5B-Instruct',
    title: 'Qwen2.5 1.5B Instruct mirror',
    kind: 'qwen2',
    style: 'optimum',
    dtypes: ['q4', 'q8'],
    externalData: [],
    tiny: { ...TINY_BASE, kind: 'qwen2', numAttentionHeads: 6, numKeyValueHeads: 1, hiddenSize: 96, rmsNormEps: 1e-6, ropeTheta: 1e6 },
    full: { kind: 'qwen2', hiddenSize: 1536, numHiddenLayers: 28, numAttentionHeads: 12, numKeyValueHeads: 2, headDim: 128, intermediateSize: 8960, vocabSize: 151936, maxPositionEmbeddings: 32768, rmsNormEps: 1e-6, ropeTheta: 1e6 },
  },
  'llama-3.2-1b-instruct': {
    name: 'llama-3.2-1b-instruct',
    repo: 'onnx-community/Llama-3.2-1B-Instruct',
    title: 'Llama 3.2 1B Instruct mirror',
    kind: 'llama',
    style: 'gqa-fused',
    dtypes: ['q4', 'q8'],
    externalData: ['q4'],
    tiny: { ...TINY_BASE, kind: 'llama', ropeTheta: 500000, ropeScaling: LLAMA3_SCALING },
    full: {
      kind: 'llama',
      hiddenSize: 2048,
      numHiddenLayers: 16,
      numAttentionHeads: 32,
      numKeyValueHeads: 8,
      headDim: 64,
      intermediateSize: 8192,
      vocabSize: 128256,
      maxPositionEmbeddings: 131072,
      rmsNormEps: 1e-5,
      ropeTheta: 500000,
      ropeScaling: LLAMA3_SCALING,
    },
  },
  'gemma-3-1b-it': {
    name: 'gemma-3-1b-it',
    repo: 'onnx-community/gemma-3-1b-it-ONNX',
    title: 'Gemma 3 1B IT mirror',
    kind: 'gemma3_text',
    style: 'gqa-fused',
    dtypes: ['q4'],
    externalData: ['q4'],
    tiny: GEMMA3_TINY,
    full: GEMMA3_FULL,
  },
} as const satisfies Record<string, MirrorSpec>;
export type CatalogMirrorId = keyof typeof CATALOG_MIRRORS;

export const FAMILY_PRESETS = {
  'qwen3-gqa-rotary': {
    name: 'qwen3-gqa-rotary',
    repo: 'onnx-community/Qwen3-0.6B-ONNX',
    title: 'Qwen3 0.6B (GroupQueryAttention + RotaryEmbedding) mirror',
    kind: 'qwen3',
    style: 'gqa-rotary',
    dtypes: ['q4f16'],
    externalData: [],
    // head_dim 32 > hidden / heads = 16, as Qwen3's 128 > 1024 / 16 = 64.
    tiny: { ...TINY_BASE, kind: 'qwen3', headDim: 32, rmsNormEps: 1e-6, ropeTheta: 1e6 },
    full: { kind: 'qwen3', hiddenSize: 1024, numHiddenLayers: 28, numAttentionHeads: 16, numKeyValueHeads: 8, headDim: 128, intermediateSize: 3072, vocabSize: 151936, maxPositionEmbeddings: 40960, rmsNormEps: 1e-6, ropeTheta: 1e6 },
  },
  'gemma3-nomask': {
    name: 'gemma3-nomask',
    repo: 'onnx-community/gemma-3-1b-it-ONNX (first revision)',
    title: 'Gemma 3 1B IT mirror, first export (no attention_mask, 1-based position_ids)',
    kind: 'gemma3_text',
    style: 'optimum',
    dtypes: ['fp32', 'q4'],
    externalData: [],
    attentionMask: false,
    positionOffset: 1,
    tiny: GEMMA3_TINY,
    full: GEMMA3_FULL,
  },
} as const satisfies Record<string, MirrorSpec>;
export type FamilyPresetName = keyof typeof FAMILY_PRESETS;

export const MIRROR_SPECS: Readonly<Record<string, MirrorSpec>> = { ...CATALOG_MIRRORS, ...FAMILY_PRESETS };

export interface MakeMirrorOptions {
  /** A catalog id (CATALOG_MIRRORS) or a FAMILY_PRESETS name. */
  catalogId: string;
  dtype?: FamilyDtype | readonly FamilyDtype[];
  fullSize?: boolean;
  seed?: number;
  outDir: string;
  /** Split each external-data file into (about) this many chunks; default 1. */
  externalDataChunks?: number;
  /** Write these dtypes with external data too (beside the spec's own). */
  forceExternalData?: readonly FamilyDtype[];
  /** Override the spec: add the num_logits_to_keep input. */
  numLogitsToKeep?: boolean;
}

export interface MakeMirrorResult {
  outDir: string;
  dtypes: FamilyDtype[];
  /** Path relative to outDir -> size in bytes. */
  files: Record<string, number>;
}

const BOS_ID = SPECIAL_TOKEN_IDS['<|im_start|>'];
const EOS_ID = SPECIAL_TOKEN_IDS['<|im_end|>'];
const PAD_ID = SPECIAL_TOKEN_IDS['<|im_end|>'];

export function mirrorSpec(name: string): MirrorSpec {
  const spec = MIRROR_SPECS[name];
  if (!spec) throw new Error(`make-model: unknown mirror "${name}" (expected ${Object.keys(MIRROR_SPECS).join(', ')})`);
  return spec;
}

export function mirrorArchitecture(spec: MirrorSpec, fullSize = false): FamilyArchitecture {
  return fullSize ? spec.full : spec.tiny;
}

/** The onnx/ files one dtype of a mirror writes, as the real repo names them (one data chunk). */
export function mirrorFiles(spec: MirrorSpec, dtype: FamilyDtype): string[] {
  const file = `onnx/${FAMILY_ONNX_FILE_NAMES[dtype]}`;
  return spec.externalData.includes(dtype) ? [file, `${file}_data`] : [file];
}

const ARCHITECTURES: Record<ArchKind, string> = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
  gemma3_text: 'Gemma3ForCausalLM',
};

export function mirrorConfig(spec: MirrorSpec, a: FamilyArchitecture, externalChunks: Record<string, number>, dtypes: readonly FamilyDtype[]): Record<string, unknown> {
  const config: Record<string, unknown> = {
    architectures: [ARCHITECTURES[a.kind]],
    attention_bias: a.kind === 'qwen2',
    attention_dropout: 0,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    head_dim: a.headDim,
    hidden_act: a.kind === 'gemma3_text' ? 'gelu_pytorch_tanh' : 'silu',
    hidden_size: a.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: a.intermediateSize,
    max_position_embeddings: a.maxPositionEmbeddings,
    model_type: a.kind,
    num_attention_heads: a.numAttentionHeads,
    num_hidden_layers: a.numHiddenLayers,
    num_key_value_heads: a.numKeyValueHeads,
    pad_token_id: PAD_ID,
    rms_norm_eps: a.rmsNormEps,
    rope_scaling: a.ropeScaling
      ? {
          factor: a.ropeScaling.factor,
          high_freq_factor: a.ropeScaling.highFreqFactor,
          low_freq_factor: a.ropeScaling.lowFreqFactor,
          original_max_position_embeddings: a.ropeScaling.originalMaxPositionEmbeddings,
          rope_type: a.ropeScaling.ropeType,
        }
      : null,
    rope_theta: a.ropeTheta,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: a.vocabSize,
  };
  if (a.kind === 'llama') Object.assign(config, { mlp_bias: false, pretraining_tp: 1 });
  if (a.kind === 'qwen2' || a.kind === 'qwen3') Object.assign(config, { max_window_layers: a.numHiddenLayers, sliding_window: null, use_sliding_window: false });
  if (a.kind === 'gemma3_text') {
    Object.assign(config, {
      attn_logit_softcapping: null,
      final_logit_softcapping: null,
      hidden_activation: 'gelu_pytorch_tanh',
      query_pre_attn_scalar: a.queryPreAttnScalar,
      rope_local_base_freq: a.ropeLocalTheta,
      sliding_window: a.slidingWindow,
      sliding_window_pattern: a.slidingWindowPattern,
    });
  }
  const jsConfig: Record<string, unknown> = {};
  if (Object.keys(externalChunks).length > 0) jsConfig['use_external_data_format'] = externalChunks;
  const halfDtypes = dtypes.filter(isFloat16Dtype);
  if (halfDtypes.length > 0) jsConfig['kv_cache_dtype'] = Object.fromEntries(halfDtypes.map((d) => [d, 'float16']));
  if (Object.keys(jsConfig).length > 0) config['transformers.js_config'] = jsConfig;
  return Object.fromEntries(Object.entries(config).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function readme(spec: MirrorSpec, a: FamilyArchitecture, seed: number, dtypes: readonly FamilyDtype[], fullSize: boolean, files: readonly string[]): string {
  return `# ${spec.title}

A stand-in for [${spec.repo}](https://huggingface.co/${spec.repo.split(' ')[0]}) with **random weights**
(seed ${seed}): the same architecture family (\`${a.kind}\`), the same ONNX graph style
(\`${spec.style}\`) and file names, ${fullSize ? 'the real dimensions' : 'tiny dimensions'}. It has never been trained: it babbles.

Made by:

\`\`\`sh
npm run make:model -- --mirror ${spec.name} --dtype ${dtypes.join(',')}${fullSize ? ' --full-size' : ''} --seed ${seed} --out <dir>
\`\`\`

The same command writes byte-identical files.

- ${a.numHiddenLayers} layers, hidden ${a.hiddenSize}, ${a.numAttentionHeads} heads sharing ${a.numKeyValueHeads} KV heads of ${a.headDim},
  MLP ${a.intermediateSize}, vocabulary ${a.vocabSize}, rope theta ${a.ropeTheta}${a.ropeScaling ? ' (llama3 rope scaling)' : ''}.
- Tokenizer: byte-level BPE with the ChatML template (not the family's own).
- Files: ${files.map((f) => `\`${f}\``).join(', ')}.
`;
}

function normalizeDtypes(spec: MirrorSpec, dtype: MakeMirrorOptions['dtype']): FamilyDtype[] {
  const requested = dtype === undefined ? spec.dtypes : typeof dtype === 'string' ? [dtype] : dtype;
  for (const d of requested) {
    if (!(FAMILY_DTYPES as readonly string[]).includes(d)) throw new Error(`make-model: unknown dtype "${d}" (expected ${FAMILY_DTYPES.join(', ')})`);
  }
  return FAMILY_DTYPES.filter((d) => requested.includes(d));
}

export async function makeMirror(options: MakeMirrorOptions): Promise<MakeMirrorResult> {
  const spec = mirrorSpec(options.catalogId);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`make-model: seed must be an integer in [0, 2^32), got ${seed}`);
  const dtypes = normalizeDtypes(spec, options.dtype);
  if (dtypes.length === 0) throw new Error('make-model: no dtype to write');
  const a = mirrorArchitecture(spec, options.fullSize);
  const outDir = path.resolve(options.outDir);
  const onnxDir = path.join(outDir, 'onnx');
  await mkdir(onnxDir, { recursive: true });
  const files: Record<string, number> = {};
  const chunksPerFile: Record<string, number> = {};

  for (const dtype of FAMILY_DTYPES) {
    const fileName = FAMILY_ONNX_FILE_NAMES[dtype];
    const target = path.join(onnxDir, fileName);
    // Anything an earlier run left for this dtype would not match this folder.
    for (let i = 0; i < 16; i++) await rm(`${target}_data${i === 0 ? '' : `_${i}`}`, { force: true });
    await rm(target, { force: true });
    if (!dtypes.includes(dtype)) continue;
    const parts = buildFamilyModel(a, {
      style: spec.style,
      dtype,
      seed,
      attentionMask: spec.attentionMask ?? true,
      numLogitsToKeep: options.numLogitsToKeep ?? spec.numLogitsToKeep ?? false,
    });
    const external = spec.externalData.includes(dtype) || (options.forceExternalData ?? []).includes(dtype);
    if (!external) {
      files[`onnx/${fileName}`] = writeOnnxModel(target, parts);
      continue;
    }
    const inlineThreshold = 1024;
    const externalBytes = parts.initializers.filter((t) => t.byteLength >= inlineThreshold).reduce((sum, t) => sum + t.byteLength, 0);
    const chunks = Math.max(1, options.externalDataChunks ?? 1);
    const written = writeOnnxModelWithExternalData(target, parts, {
      dataFileName: `${fileName}_data`,
      inlineThreshold,
      maxChunkBytes: chunks === 1 ? undefined : Math.ceil(externalBytes / chunks),
    });
    for (const [name, size] of Object.entries(written)) files[`onnx/${name}`] = size;
    chunksPerFile[fileName] = Object.keys(written).length - 1;
  }

  const write = async (relative: string, text: string): Promise<void> => {
    await writeFile(path.join(outDir, relative), text);
    files[relative] = Buffer.byteLength(text);
  };
  const tokenizer = buildTokenizer(a.vocabSize, a.maxPositionEmbeddings);
  await write('config.json', jsonText(mirrorConfig(spec, a, chunksPerFile, dtypes)));
  await write('generation_config.json', jsonText({ bos_token_id: BOS_ID, eos_token_id: EOS_ID, pad_token_id: PAD_ID }));
  await write('tokenizer.json', tokenizerJsonText(tokenizer));
  await write('tokenizer_config.json', jsonText(tokenizer.tokenizerConfig));
  await write(
    'jielong.json',
    jsonText({
      id: `jielong-mirror-${spec.name}${options.fullSize ? '' : '-tiny'}`,
      name: spec.title,
      description: `A ${options.fullSize ? 'full-size' : 'tiny'} random-weight stand-in for ${spec.repo} (${spec.style} graphs). It babbles.`,
      dtypes,
      contextLength: a.maxPositionEmbeddings,
      mirrorOf: spec.name,
    }),
  );
  const onnxFiles = Object.keys(files).filter((f) => f.startsWith('onnx/'));
  await write('README.md', readme(spec, a, seed, dtypes, options.fullSize ?? false, onnxFiles));
  return { outDir, dtypes, files };
}

/** makeMirror for the non-catalog presets ('qwen3-gqa-rotary', 'gemma3-nomask'). */
export function makeFamilyPreset(options: Omit<MakeMirrorOptions, 'catalogId'> & { preset: FamilyPresetName }): Promise<MakeMirrorResult> {
  const { preset, ...rest } = options;
  return makeMirror({ ...rest, catalogId: preset });
}
