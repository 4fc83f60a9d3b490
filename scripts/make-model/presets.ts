// The shapes `make:model` can write. Field names follow Hugging Face's LlamaConfig so that
// config.json is a plain rename of these.

export interface Architecture {
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  /** Tokens the model can emit; the tokenizer is built to exactly this size. */
  readonly vocabSize: number;
  readonly maxPositionEmbeddings: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
}

export interface Preset {
  readonly name: PresetName;
  /** What the folder is, for README.md and jielong.json. */
  readonly title: string;
  readonly architecture: Architecture;
}

export const PRESET_NAMES = ['tiny', 'smollm2'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  // Small enough to commit (about 0.4 MB) and to run in every test.
  tiny: {
    name: 'tiny',
    title: 'Jielong tiny (random weights)',
    architecture: {
      hiddenSize: 64,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      numKeyValueHeads: 2,
      headDim: 16,
      // 64 * 8/3 rounded up to a multiple of 16, as Llama sizes its MLP; deliberately not a
      // multiple of the q4 block size (32), so the padded last block is exercised.
      intermediateSize: 176,
      vocabSize: 512,
      maxPositionEmbeddings: 2048,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
    },
  },
  // SmolLM2-135M's exact shapes (HuggingFaceTB/SmolLM2-135M-Instruct config.json), for
  // realistic speed and memory measurements without downloading anything.
  smollm2: {
    name: 'smollm2',
    title: 'Jielong SmolLM2-135M-shaped (random weights)',
    architecture: {
      hiddenSize: 576,
      numHiddenLayers: 30,
      numAttentionHeads: 9,
      numKeyValueHeads: 3,
      headDim: 64,
      intermediateSize: 1536,
      vocabSize: 49152,
      maxPositionEmbeddings: 8192,
      rmsNormEps: 1e-5,
      ropeTheta: 100000,
    },
  },
};

export function isPresetName(value: string): value is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(value);
}
