// Everything the engine will need from a model folder, checked without loading the model:
// the folder check the engine itself runs (model-folder-check.ts), then the ONNX file's
// outline (not truncated, really protobuf, a KV-cache input per layer of config.json, its
// external data present) and an end-of-sequence token. Import and download verification use
// this, so a folder the engine would refuse is refused before it is copied or listed.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelHostError } from '../shared/model-host-error.ts';
import { dtypeSchema, type ModelDtype } from '../shared/model-host-protocol.ts';
import { externalDataFilePaths, onnxFilePath, ONNX_SUBFOLDER, REQUIRED_MODEL_FILES, type ExternalDataFormat } from '../shared/model-layout.ts';
import { classifyDecoderGraph, type DecoderGraphKind } from './decoder-graph.ts';
import { checkModelFolder, type CheckOptions, type ModelConfig } from './model-folder-check.ts';
import type { GenerationDefaults } from './generation-defaults.ts';
import { kvCacheLayers, OnnxFormatError, readOnnxGraphOutline } from './onnx-graph.ts';

/** Files a model folder may carry that the engine reads when present. */
export const OPTIONAL_MODEL_FILES = ['generation_config.json', 'chat_template.jinja'] as const;

export const ALL_DTYPES: readonly ModelDtype[] = dtypeSchema.options;

export interface VerifiedDtype {
  dtype: ModelDtype;
  /** Paths relative to the folder, with `/`: the metadata files, the ONNX file and its external data. */
  files: string[];
  weightBytes: number;
}

export interface ModelFolderReport {
  /** Dtypes whose weights pass every check, in ALL_DTYPES order. */
  usable: VerifiedDtype[];
  /** Dtypes whose ONNX file is there but fails a check, with the reason. */
  /** `code`: the ModelHostError's (`no_chat_template` is one the import can fix). */
  refused: { dtype: ModelDtype; reason: string; code: string | null }[];
  config: ModelConfig | null;
  contextLength: number | null;
}

/** The dtypes whose ONNX file (`onnx/model<suffix>.onnx`) is in the folder. */
export async function dtypesInFolder(modelDir: string): Promise<ModelDtype[]> {
  const names = new Set(await readdir(path.join(modelDir, ONNX_SUBFOLDER)).catch(() => [] as string[]));
  return ALL_DTYPES.filter((dtype) => names.has(path.basename(onnxFilePath(dtype))));
}

/** The files a dtype needs, given config.json: metadata, the ONNX file, its external data. */
export function filesForDtype(config: Pick<ModelConfig, 'transformers.js_config'>, dtype: ModelDtype, optionalPresent: Iterable<string> = []): string[] {
  const optional = new Set(optionalPresent);
  return [
    ...REQUIRED_MODEL_FILES,
    ...OPTIONAL_MODEL_FILES.filter((file) => optional.has(file)),
    onnxFilePath(dtype),
    ...externalDataFilePaths(dtype, config['transformers.js_config']?.use_external_data_format as ExternalDataFormat),
  ];
}

function invalid(message: string): ModelHostError {
  return new ModelHostError('model_invalid', message);
}

/**
 * Checks one dtype of a folder as the engine would load it; throws a ModelHostError
 * ('model_not_found' or 'model_invalid') whose message says what is wrong.
 */
export interface VerifiedModel extends VerifiedDtype {
  config: ModelConfig;
  graph: DecoderGraphKind;
  eosTokenIds: number[];
  /** External-data files the graph names, relative to its onnx folder. */
  externalDataFiles: string[];
  generationDefaults: GenerationDefaults;
  /** chat_template.jinja's text, when the folder has one: the engine renders prompts with it. */
  chatTemplateFile: string | null;
}

export async function verifyModelDtype(modelDir: string, dtype: ModelDtype, options: CheckOptions = {}): Promise<VerifiedModel> {
  const checked = await checkModelFolder(modelDir, dtype, options);
  const onnxPath = onnxFilePath(dtype);
  let outline;
  try {
    outline = await readOnnxGraphOutline(path.join(modelDir, onnxPath));
  } catch (error) {
    if (error instanceof OnnxFormatError) {
      throw invalid(
        error.kind === 'truncated'
          ? `${onnxPath} could not be loaded: ${error.message} (an interrupted download or copy?)`
          : `${onnxPath} could not be loaded: it is not a valid ONNX model (${error.message})`,
      );
    }
    throw error;
  }
  const graph = classifyDecoderGraph(outline, onnxPath);
  const layers = kvCacheLayers(outline);
  if (layers === 0) throw invalid(`${onnxPath} has no past_key_values inputs: it is not a decoder exported with a KV cache, which the engine needs`);
  if (layers !== checked.config.num_hidden_layers) {
    throw invalid(`config.json says ${checked.config.num_hidden_layers} layers but the ONNX graph has ${layers}: the files do not belong together`);
  }
  if (checked.eosTokenIds.length === 0) throw invalid('The model states no end-of-sequence token (eos_token_id) in config.json or generation_config.json');

  const present = new Set<string>();
  for (const file of OPTIONAL_MODEL_FILES) {
    if ((await stat(path.join(modelDir, file)).catch(() => null))?.isFile()) present.add(file);
  }
  const files = filesForDtype(checked.config, dtype, present);
  let weightBytes = checked.weightBytes;
  // The graph may name external files that config.json does not announce.
  for (const location of outline.externalDataFiles) {
    const relative = path.posix.join(ONNX_SUBFOLDER, location);
    if (path.posix.normalize(relative) !== relative || !relative.startsWith(`${ONNX_SUBFOLDER}/`) || location.includes('\\')) {
      throw invalid(`${onnxPath} points its weights at "${location}", outside the model's onnx folder`);
    }
    if (files.includes(relative)) continue;
    const info = await stat(path.join(modelDir, relative)).catch(() => null);
    if (!info?.isFile()) throw invalid(`The model has no ${dtype} weights: ${relative} is missing in ${modelDir} (the ONNX graph stores its weights there)`);
    files.push(relative);
    weightBytes += info.size;
  }
  const { config, eosTokenIds, generationDefaults, chatTemplateFile } = checked;
  return { dtype, files, weightBytes, config, graph, eosTokenIds, externalDataFiles: outline.externalDataFiles, generationDefaults, chatTemplateFile };
}

/** Checks every dtype found in the folder. Throws only when the folder itself is unreadable. */
export async function inspectModelFolder(modelDir: string, options: CheckOptions = {}): Promise<ModelFolderReport> {
  const report: ModelFolderReport = { usable: [], refused: [], config: null, contextLength: null };
  const found = await dtypesInFolder(modelDir);
  // No weights at all: the fp32 check names the file the engine looks for first.
  for (const dtype of found.length > 0 ? found : (['fp32'] as const)) {
    try {
      const verified = await verifyModelDtype(modelDir, dtype, options);
      report.config ??= verified.config;
      report.usable.push({ dtype, files: verified.files, weightBytes: verified.weightBytes });
    } catch (error) {
      if (error instanceof ModelHostError && error.code === 'model_not_found') throw error;
      report.refused.push({ dtype, reason: error instanceof Error ? error.message : String(error), code: error instanceof ModelHostError ? error.code : null });
    }
  }
  const max = report.config?.max_position_embeddings;
  report.contextLength = Number.isInteger(max) && (max ?? 0) > 0 ? (max as number) : null;
  return report;
}
