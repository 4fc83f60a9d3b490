// Where transformers.js 4 looks for a model's files in a local folder (utils/dtypes.js,
// utils/model-loader.js). The engine checks folders against it before loading; downloads and
// imports use it to know which files make a model complete.
import type { ModelDtype } from './model-host-protocol.ts';

export const ONNX_SUBFOLDER = 'onnx';

const DTYPE_SUFFIX: Record<ModelDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** `onnx/model_q4.onnx` for q4, `onnx/model.onnx` for fp32. */
export function onnxFilePath(dtype: ModelDtype, baseName = 'model'): string {
  return `${ONNX_SUBFOLDER}/${baseName}${DTYPE_SUFFIX[dtype]}.onnx`;
}

/** Value of `transformers.js_config.use_external_data_format`: a count, a flag, or per file. */
export type ExternalDataFormat = boolean | number | Record<string, boolean | number> | null | undefined;

/** The external-data files transformers.js will ask for next to an ONNX file (model.onnx_data, model.onnx_data_1, ...). */
export function externalDataFilePaths(dtype: ModelDtype, format: ExternalDataFormat, baseName = 'model'): string[] {
  const fileName = `${baseName}${DTYPE_SUFFIX[dtype]}.onnx`;
  let chunks = 0;
  if (format && typeof format === 'object') {
    const value = Object.hasOwn(format, fileName) ? format[fileName] : Object.hasOwn(format, baseName) ? format[baseName] : 0;
    chunks = Number(value ?? 0);
  } else if (format) {
    chunks = Number(format);
  }
  return Array.from({ length: chunks }, (_, i) => `${ONNX_SUBFOLDER}/${fileName}_data${i === 0 ? '' : `_${i}`}`);
}

/** Files every text-generation model folder needs besides its ONNX weights. */
export const REQUIRED_MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;
