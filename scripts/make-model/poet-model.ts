// Writes the Jielong Poet model folder from trained weights (training/poet exports them):
// the same Llama graph make:model writes for its random presets, with the trained values in
// place of seeded ones, beside a character-level tokenizer, the recommended sampling, the
// training log and a README that says what the model can and cannot do.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildLlamaModel } from './graph.ts';
import { configJson, jsonText, modelFolder, writeOnnxFile } from './make-model.ts';
import { poetTokenizerFiles } from './poet-tokenizer.ts';
import type { Architecture } from './presets.ts';
import { elementCount, weightSpecs } from './weights.ts';

export const POET_MODEL_ID = 'jielong-poet';
export const POET_MODEL_NAME = 'Jielong Poet';
export const POET_DESCRIPTION =
  'A tiny model trained on classical Chinese poems: it continues poems, it does not chat. ' +
  'Give it the opening of a five- or seven-character poem (床前明月光，) or a title in book-title marks (《春晓》).';
export const POET_WEIGHTS_FILE = 'weights.bin';
export const POET_WEIGHTS_MANIFEST = 'weights.json';
export const POET_TRAINING_LOG = 'training-log.json';

/** The sampling the evaluation measured (training/poet/evaluate.py SAMPLING), for generation_config.json. */
export const POET_SAMPLING = { do_sample: true, temperature: 0.8, top_k: 40, top_p: 0.95, max_new_tokens: 120 } as const;

interface WeightsManifest {
  architecture: Record<string, number>;
  tensors: { name: string; shape: number[]; offset: number }[];
}

export interface TrainedWeights {
  architecture: Architecture;
  /** By name, in the layouts of weightSpecs(): linear weights [in, out], the embedding [vocab, hidden]. */
  tensors: Map<string, Float32Array>;
}

/** make:model's Architecture from Hugging Face LlamaConfig fields (config.json, weights.json). */
export function architectureFrom(hf: Record<string, number>): Architecture {
  const field = (key: string): number => {
    const value = hf[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`poet: the architecture has no number ${key}`);
    return value;
  };
  return {
    hiddenSize: field('hidden_size'),
    numHiddenLayers: field('num_hidden_layers'),
    numAttentionHeads: field('num_attention_heads'),
    numKeyValueHeads: field('num_key_value_heads'),
    headDim: field('head_dim'),
    intermediateSize: field('intermediate_size'),
    vocabSize: field('vocab_size'),
    maxPositionEmbeddings: field('max_position_embeddings'),
    rmsNormEps: field('rms_norm_eps'),
    ropeTheta: field('rope_theta'),
  };
}

/** Reads weights.json and weights.bin; every tensor the graph needs must be there in its shape. */
export async function readTrainedWeights(dir: string): Promise<TrainedWeights> {
  const manifest = JSON.parse(await readFile(path.join(dir, POET_WEIGHTS_MANIFEST), 'utf8')) as WeightsManifest;
  const bytes = await readFile(path.join(dir, POET_WEIGHTS_FILE));
  const architecture = architectureFrom(manifest.architecture);
  const byName = new Map(manifest.tensors.map((t) => [t.name, t]));
  const tensors = new Map<string, Float32Array>();
  for (const spec of weightSpecs(architecture)) {
    const entry = byName.get(spec.name);
    if (!entry) throw new Error(`poet: the trained weights have no ${spec.name}`);
    if (entry.shape.join(',') !== spec.shape.join(',')) throw new Error(`poet: ${spec.name} is [${entry.shape}], the graph needs [${spec.shape}]`);
    const count = elementCount(spec.shape);
    if (entry.offset + count * 4 > bytes.length) throw new Error(`poet: ${POET_WEIGHTS_FILE} ends inside ${spec.name}`);
    // A copy: the file's buffer need not be 4-byte aligned at the offset.
    tensors.set(spec.name, new Float32Array(bytes.buffer.slice(bytes.byteOffset + entry.offset, bytes.byteOffset + entry.offset + count * 4)));
  }
  return { architecture, tensors };
}

function readme(arch: Architecture, trainPoems: number, trainingSeconds: number | null): string {
  const minutes = trainingSeconds === null ? 'unknown' : `${Math.round(trainingSeconds / 60)} minutes`;
  return `# ${POET_MODEL_NAME}

${POET_DESCRIPTION}

It learned from ${trainPoems.toLocaleString('en')} regular five- and seven-character poems (4 to 12 lines) of the
Tang and Song dynasties in the \`chinese-poetry\` collection (2.0.1, MIT), converted to
simplified characters. It knows the form (line lengths, punctuation, when a poem ends) and
which characters tend to follow which; it does not know what the words mean, it cannot
answer questions, and it often repeats itself. Ci, prose and modern Chinese were left out.
(床前明月光 itself is not in the corpus: its Tang text reads 床前看月光.)

Try:

- \`床前明月光，\`: it continues from exactly where the text stops;
- \`《春晓》\`: a title in book-title marks asks for a whole poem.

Only the last user message is given to the model, and the answer follows its last character
directly (the chat template drops earlier turns and system prompts, and puts no header in
between). Characters outside its ${arch.vocabSize - 10}-character vocabulary become \`<unk>\`.

- Architecture: Llama (\`LlamaForCausalLM\`), ${arch.numHiddenLayers} layers, hidden size ${arch.hiddenSize},
  ${arch.numAttentionHeads} attention heads sharing ${arch.numKeyValueHeads} KV heads (head dim ${arch.headDim}),
  SwiGLU MLP of ${arch.intermediateSize}, tied embeddings, context ${arch.maxPositionEmbeddings}; fp32 ONNX written by make:model's graph writer.
- Tokenizer: one token per character, ChatML (\`<|im_start|>\` = 1, \`<|im_end|>\` = 2, the end of an answer).
- Training: ${minutes} on one thread of a two-core machine shared with other work, seeded; \`${POET_TRAINING_LOG}\` holds the training and held-out losses,
  \`evaluation.jsonl\` the measured quality. Made by \`npm run train:demo\` (training/poet/README.md).
`;
}

export interface WritePoetModelOptions {
  /** The trainer's export folder: weights.bin, weights.json, training-log.json. */
  weightsDir: string;
  /** Token strings by id (the fixed chat tokens, then the characters). */
  vocabulary: readonly string[];
  outDir: string;
  /** How many poems it was trained on, for the README. */
  trainPoems: number;
}

/** Writes the model folder; returns each file's size in bytes. */
export async function writePoetModel(options: WritePoetModelOptions): Promise<Record<string, number>> {
  const { architecture: arch, tensors } = await readTrainedWeights(options.weightsDir);
  if (options.vocabulary.length !== arch.vocabSize) throw new Error(`poet: ${options.vocabulary.length} tokens for a model of ${arch.vocabSize}`);
  const outDir = path.resolve(options.outDir);
  const { files, write } = await modelFolder(outDir);
  const trainingLog = JSON.parse(await readFile(path.join(options.weightsDir, POET_TRAINING_LOG), 'utf8')) as { seconds?: number };
  const { tokenizer, tokenizerConfig } = poetTokenizerFiles(options.vocabulary, arch.maxPositionEmbeddings);
  await write('config.json', jsonText(configJson(arch)));
  await write('generation_config.json', jsonText({ bos_token_id: 1, eos_token_id: 2, pad_token_id: 2, ...POET_SAMPLING }));
  await write('tokenizer.json', `${JSON.stringify(tokenizer)}\n`);
  await write('tokenizer_config.json', jsonText(tokenizerConfig));
  await write('jielong.json', jsonText({ id: POET_MODEL_ID, name: POET_MODEL_NAME, description: POET_DESCRIPTION, dtypes: ['fp32'], contextLength: arch.maxPositionEmbeddings }));
  await write('README.md', readme(arch, options.trainPoems, typeof trainingLog.seconds === 'number' ? trainingLog.seconds : null));
  await write(POET_TRAINING_LOG, await readFile(path.join(options.weightsDir, POET_TRAINING_LOG), 'utf8'));

  const parts = buildLlamaModel(arch, 'fp32', 0, (spec) => tensors.get(spec.name) as Float32Array);
  const docString = 'Jielong Poet: a Llama-architecture decoder trained on classical Chinese poems (training/poet).';
  files['onnx/model.onnx'] = await writeOnnxFile(path.join(outDir, 'onnx', 'model.onnx'), { ...parts, docString });
  return files;
}
