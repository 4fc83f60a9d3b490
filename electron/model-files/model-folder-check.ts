// Checks a model folder before transformers.js sees it. Its loader hangs forever on a missing
// external-data file and memoizes a missing tokenizer_config.json for the life of the
// process (transformers.js 4.3.1, utils/model-loader.js), so problems must be caught here, with
// a message that says what is wrong and where.
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelHostError } from '../shared/model-host-error.ts';
import { checkChatTemplate } from './chat-template-check.ts';
import { CHAT_TEMPLATE_FILE } from './chat-templates.ts';
import { generationDefaults, type GenerationDefaults } from './generation-defaults.ts';
import type { ModelDtype } from '../shared/model-host-protocol.ts';
import { externalDataFilePaths, onnxFilePath, REQUIRED_MODEL_FILES, type ExternalDataFormat } from '../shared/model-layout.ts';

export interface CheckedModelFolder {
  config: ModelConfig;
  /** ONNX file plus its external data, bytes. */
  weightBytes: number;
  eosTokenIds: number[];
  /** The sampling generation_config.json recommends (checked), and what it stated that could not be used. */
  generationDefaults: GenerationDefaults;
  /** The template from chat_template.jinja, when the folder has one (it wins over tokenizer_config.json's). */
  chatTemplateFile: string | null;
}

export interface ModelConfig {
  model_type: string;
  num_hidden_layers: number;
  max_position_embeddings?: number;
  vocab_size?: number;
  eos_token_id?: number | number[];
  'transformers.js_config'?: { use_external_data_format?: ExternalDataFormat };
}

const LFS_POINTER_PREFIX = 'version https://git-lfs.github.com/spec';
/** The smallest ONNX protobuf that can hold a decoder graph is far bigger than this. */
const MIN_ONNX_BYTES = 1024;

export interface CheckOptions {
  /** A template chosen for a folder that has none (the import checks it before saving it there). */
  chatTemplate?: string;
}

export async function checkModelFolder(modelDir: string, dtype: ModelDtype, options: CheckOptions = {}): Promise<CheckedModelFolder> {
  if (!path.isAbsolute(modelDir)) throw new ModelHostError('invalid_request', `The model folder must be an absolute path: ${modelDir}`);
  const folderStat = await stat(modelDir).catch(() => null);
  if (!folderStat?.isDirectory()) throw new ModelHostError('model_not_found', `No model folder at ${modelDir}`);

  const parsed = new Map<string, unknown>();
  for (const file of REQUIRED_MODEL_FILES) {
    const full = path.join(modelDir, file);
    const text = await readFile(full, 'utf8').catch(() => null);
    if (text === null) throw new ModelHostError('model_invalid', `The model is missing ${file} (looked in ${modelDir})`);
    if (text.startsWith(LFS_POINTER_PREFIX)) throw new ModelHostError('model_invalid', `${file} is a Git LFS pointer, not the real file: download the model with its LFS files`);
    try {
      parsed.set(file, JSON.parse(text));
    } catch (error) {
      throw new ModelHostError('model_invalid', `${file} is not valid JSON (${(error as Error).message})`);
    }
  }

  // Each file read and parsed once, above.
  const chatTemplateFile = options.chatTemplate ?? (await readFile(path.join(modelDir, CHAT_TEMPLATE_FILE), 'utf8').catch(() => null));
  checkChatTemplate((parsed.get('tokenizer_config.json') ?? {}) as Record<string, unknown>, chatTemplateFile);

  const config = (parsed.get('config.json') ?? {}) as Partial<ModelConfig>;
  if (typeof config.model_type !== 'string') throw new ModelHostError('model_invalid', 'config.json has no model_type');
  if (!Number.isInteger(config.num_hidden_layers) || (config.num_hidden_layers ?? 0) < 1) {
    throw new ModelHostError('model_invalid', 'config.json has no valid num_hidden_layers');
  }

  const onnxPath = onnxFilePath(dtype);
  let weightBytes = await checkWeightFile(modelDir, onnxPath, dtype);
  for (const dataPath of externalDataFilePaths(dtype, config['transformers.js_config']?.use_external_data_format)) {
    weightBytes += await checkWeightFile(modelDir, dataPath, dtype);
  }

  const generation = await readFile(path.join(modelDir, 'generation_config.json'), 'utf8')
    .then((text) => JSON.parse(text) as { eos_token_id?: number | number[] } & Record<string, unknown>)
    .catch(() => ({}) as { eos_token_id?: number | number[] } & Record<string, unknown>);
  const eosTokenIds = [...new Set([config.eos_token_id, generation.eos_token_id].flat().filter((id): id is number => Number.isInteger(id)))];

  return { config: config as ModelConfig, weightBytes, eosTokenIds, generationDefaults: generationDefaults(generation), chatTemplateFile };
}

async function checkWeightFile(modelDir: string, relativePath: string, dtype: ModelDtype): Promise<number> {
  const full = path.join(modelDir, relativePath);
  const fileStat = await stat(full).catch(() => null);
  if (!fileStat?.isFile()) {
    throw new ModelHostError('model_invalid', `The model has no ${dtype} weights: ${relativePath} is missing in ${modelDir}`);
  }
  const handle = await open(full, 'r');
  try {
    const head = Buffer.alloc(LFS_POINTER_PREFIX.length);
    await handle.read(head, 0, head.length, 0);
    if (head.toString('utf8') === LFS_POINTER_PREFIX) {
      throw new ModelHostError('model_invalid', `${relativePath} is a Git LFS pointer, not weights: download the model with its LFS files`);
    }
  } finally {
    await handle.close();
  }
  if (relativePath.endsWith('.onnx') && fileStat.size < MIN_ONNX_BYTES) {
    throw new ModelHostError('model_invalid', `${relativePath} is only ${fileStat.size} bytes: it is truncated or not an ONNX model`);
  }
  return fileStat.size;
}
