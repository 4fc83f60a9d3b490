// Writes an ONNX ModelProto to disk without holding the weights in memory.
//
// onnx-proto (protobufjs) encodes the small messages: the model's header fields, the graph's
// nodes and inputs, each tensor's name and shape. Weight bytes never pass through it: a
// protobuf message is a sequence of fields in any order, so the writer emits the graph field
// with a length computed up front, the encoded graph structure, and then each initializer
// as a field whose `raw_data` is streamed straight from the generator to the file.
import { closeSync, openSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { varint } from '../../electron/model-files/onnx-wire.ts';

const { onnx } = onnxProto;

export const DataType = onnx.TensorProto.DataType;

/** An initializer whose bytes are produced only while it is written. */
export interface StreamedTensor {
  readonly name: string;
  readonly dataType: Onnx.TensorProto.DataType;
  readonly dims: readonly number[];
  /** Exactly how many bytes writeData will produce. */
  readonly byteLength: number;
  /** Produces the little-endian raw data, in order, in as many pieces as it likes. */
  writeData(write: (bytes: Uint8Array) => void): void;
}

export interface OnnxModelParts {
  readonly irVersion: number;
  readonly opsetImports: ReadonlyArray<{ domain: string; version: number }>;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString?: string;
  /** Nodes, inputs, outputs, name; its initializers come from `initializers`. */
  readonly graph: Onnx.IGraphProto;
  readonly initializers: readonly StreamedTensor[];
}

// Field numbers and wire types from onnx.proto.
const MODEL_GRAPH_TAG = (7 << 3) | 2;
const GRAPH_INITIALIZER_TAG = (5 << 3) | 2;
const TENSOR_RAW_DATA_TAG = (9 << 3) | 2;

/** Buffers small writes into large ones; big pieces go straight to the file. */
class FileSink {
  private readonly buffer = Buffer.alloc(1 << 20);
  private used = 0;
  bytesWritten = 0;

  constructor(private readonly fd: number) {}

  write(bytes: Uint8Array): void {
    this.bytesWritten += bytes.length;
    if (bytes.length >= this.buffer.length) {
      this.flush();
      writeAll(this.fd, bytes);
      return;
    }
    if (this.used + bytes.length > this.buffer.length) this.flush();
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  flush(): void {
    if (this.used > 0) writeAll(this.fd, this.buffer.subarray(0, this.used));
    this.used = 0;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

interface EncodedInitializer {
  readonly tensor: StreamedTensor;
  /** Field tag + length + encoded name/dims/type + raw_data tag + length. */
  readonly prefix: Uint8Array;
  readonly fieldLength: number;
}

function encodeInitializer(tensor: StreamedTensor): EncodedInitializer {
  const header = onnx.TensorProto.encode({ name: tensor.name, dims: [...tensor.dims], dataType: tensor.dataType }).finish();
  const rawTag = Uint8Array.of(TENSOR_RAW_DATA_TAG, ...varint(tensor.byteLength));
  const messageLength = header.length + rawTag.length + tensor.byteLength;
  const prefix = Uint8Array.of(GRAPH_INITIALIZER_TAG, ...varint(messageLength), ...header, ...rawTag);
  return { tensor, prefix, fieldLength: prefix.length + tensor.byteLength };
}

/** Writes the model to `path` and returns its size in bytes. */
export function writeOnnxModel(path: string, parts: OnnxModelParts): number {
  // Raw data is little-endian by spec; typed arrays are host-endian.
  if (endianness() !== 'LE') throw new Error('onnx-writer: big-endian hosts are not supported');

  const header = onnx.ModelProto.encode({
    irVersion: parts.irVersion,
    opsetImport: parts.opsetImports.map(({ domain, version }) => ({ domain, version })),
    producerName: parts.producerName,
    producerVersion: parts.producerVersion,
    ...(parts.docString === undefined ? {} : { docString: parts.docString }),
  }).finish();
  const graphStructure = onnx.GraphProto.encode({ ...parts.graph, initializer: [] }).finish();
  const initializers = parts.initializers.map(encodeInitializer);
  const graphLength = graphStructure.length + initializers.reduce((sum, i) => sum + i.fieldLength, 0);

  const fd = openSync(path, 'w');
  try {
    const sink = new FileSink(fd);
    sink.write(header);
    sink.write(Uint8Array.of(MODEL_GRAPH_TAG, ...varint(graphLength)));
    sink.write(graphStructure);
    for (const { tensor, prefix } of initializers) {
      sink.write(prefix);
      const before = sink.bytesWritten;
      tensor.writeData((bytes) => sink.write(bytes));
      const written = sink.bytesWritten - before;
      if (written !== tensor.byteLength) {
        throw new Error(`onnx-writer: ${tensor.name} wrote ${written} bytes, declared ${tensor.byteLength}`);
      }
    }
    sink.flush();
    return sink.bytesWritten;
  } finally {
    closeSync(fd);
  }
}

const BYTES_PER_ELEMENT: Partial<Record<Onnx.TensorProto.DataType, number>> = {
  [DataType.FLOAT]: 4,
  [DataType.INT64]: 8,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.INT32]: 4,
  [DataType.FLOAT16]: 2,
};

/** A small initializer whose values are already in memory. */
export function tensorFromArray(
  name: string,
  dataType: Onnx.TensorProto.DataType,
  dims: readonly number[],
  values: Float32Array | BigInt64Array | Uint8Array | Int8Array | Int32Array | Uint16Array,
): StreamedTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count || BYTES_PER_ELEMENT[dataType] !== values.BYTES_PER_ELEMENT) {
    throw new Error(`onnx-writer: ${name} has ${values.length} values of ${values.BYTES_PER_ELEMENT} bytes for dims [${dims.join(', ')}]`);
  }
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, dataType, dims, byteLength: bytes.length, writeData: (write) => write(bytes) };
}

export interface ExternalDataOptions {
  /** Name of the first data file, beside the model: `<model>.onnx_data`; later chunks get `_1`, `_2`, ... */
  readonly dataFileName: string;
  /** A new chunk starts when the next tensor would make the current one larger than this. */
  readonly maxChunkBytes?: number;
  /** Tensors smaller than this stay inside the .onnx file (onnx's save_model keeps < 1024 B inline). */
  readonly inlineThreshold?: number;
}

/**
 * Writes the model with its large initializers in external data files (TensorProto
 * data_location EXTERNAL, external_data location/offset/length), as onnx's
 * save_model(save_as_external_data=True) does. Returns bytes per written file name.
 */
export function writeOnnxModelWithExternalData(modelPath: string, parts: OnnxModelParts, options: ExternalDataOptions): Record<string, number> {
  if (endianness() !== 'LE') throw new Error('onnx-writer: big-endian hosts are not supported');
  const maxChunk = options.maxChunkBytes ?? Number.MAX_SAFE_INTEGER;
  const inlineThreshold = options.inlineThreshold ?? 1024;
  const chunkName = (i: number): string => `${options.dataFileName}${i === 0 ? '' : `_${i}`}`;
  const chunks: Array<{ name: string; tensors: StreamedTensor[]; size: number }> = [];
  const initializer: Onnx.ITensorProto[] = [];
  for (const tensor of parts.initializers) {
    if (tensor.byteLength < inlineThreshold) {
      const pieces: Uint8Array[] = [];
      tensor.writeData((bytes) => pieces.push(Uint8Array.from(bytes)));
      const rawData = Buffer.concat(pieces);
      if (rawData.length !== tensor.byteLength) throw new Error(`onnx-writer: ${tensor.name} wrote ${rawData.length} bytes, declared ${tensor.byteLength}`);
      initializer.push({ name: tensor.name, dims: [...tensor.dims], dataType: tensor.dataType, rawData });
      continue;
    }
    let chunk = chunks.at(-1);
    if (!chunk || (chunk.size > 0 && chunk.size + tensor.byteLength > maxChunk)) {
      chunk = { name: chunkName(chunks.length), tensors: [], size: 0 };
      chunks.push(chunk);
    }
    initializer.push({
      name: tensor.name,
      dims: [...tensor.dims],
      dataType: tensor.dataType,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: chunk.name },
        { key: 'offset', value: String(chunk.size) },
        { key: 'length', value: String(tensor.byteLength) },
      ],
    });
    chunk.tensors.push(tensor);
    chunk.size += tensor.byteLength;
  }
  const model = onnx.ModelProto.encode({
    irVersion: parts.irVersion,
    opsetImport: parts.opsetImports.map(({ domain, version }) => ({ domain, version })),
    producerName: parts.producerName,
    producerVersion: parts.producerVersion,
    ...(parts.docString === undefined ? {} : { docString: parts.docString }),
    graph: { ...parts.graph, initializer },
  }).finish();
  const sizes: Record<string, number> = {};
  const directory = modelPath.slice(0, Math.max(modelPath.lastIndexOf('/'), modelPath.lastIndexOf('\\')) + 1);
  for (const chunk of chunks) {
    const fd = openSync(directory + chunk.name, 'w');
    try {
      const sink = new FileSink(fd);
      for (const tensor of chunk.tensors) {
        const before = sink.bytesWritten;
        tensor.writeData((bytes) => sink.write(bytes));
        if (sink.bytesWritten - before !== tensor.byteLength) throw new Error(`onnx-writer: ${tensor.name} wrote the wrong byte count`);
      }
      sink.flush();
      sizes[chunk.name] = sink.bytesWritten;
    } finally {
      closeSync(fd);
    }
  }
  const fd = openSync(modelPath, 'w');
  try {
    writeAll(fd, model);
  } finally {
    closeSync(fd);
  }
  sizes[modelPath.slice(directory.length)] = model.length;
  return sizes;
}
