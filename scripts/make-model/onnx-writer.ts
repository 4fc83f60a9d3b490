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

function varint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`onnx-writer: bad varint ${value}`);
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  bytes.push(value);
  return Uint8Array.from(bytes);
}

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
};

/** A small initializer whose values are already in memory. */
export function tensorFromArray(
  name: string,
  dataType: Onnx.TensorProto.DataType,
  dims: readonly number[],
  values: Float32Array | BigInt64Array | Uint8Array,
): StreamedTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count || BYTES_PER_ELEMENT[dataType] !== values.BYTES_PER_ELEMENT) {
    throw new Error(`onnx-writer: ${name} has ${values.length} values of ${values.BYTES_PER_ELEMENT} bytes for dims [${dims.join(', ')}]`);
  }
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, dataType, dims, byteLength: bytes.length, writeData: (write) => write(bytes) };
}
