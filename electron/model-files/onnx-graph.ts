// Reads the outline of an ONNX file without loading it: the graph's input and output names,
// which operators its nodes use, and the external-data files its initializers point to. It walks the protobuf wire format
// field by field and seeks over the large parts (weights, node lists), so a multi-gigabyte
// file costs a few reads. A file that is cut short or is not protobuf at all is refused here,
// before onnxruntime sees it (field numbers: onnx/onnx.proto3).
import { open, type FileHandle } from 'node:fs/promises';

export interface OnnxGraphOutline {
  irVersion: number;
  opsetImports: { domain: string; version: number }[];
  inputs: string[];
  outputs: string[];
  /** Files named by initializers stored outside the .onnx file (data_location = EXTERNAL). */
  externalDataFiles: string[];
  initializerCount: number;
  /** How many nodes use each operator, keyed `op` for the default domain and `domain.op` otherwise. */
  opCounts: Record<string, number>;
}

/** Why a file is not a readable ONNX model. `truncated` when a field runs past the end. */
export class OnnxFormatError extends Error {
  override readonly name = 'OnnxFormatError';
  constructor(
    readonly kind: 'truncated' | 'malformed',
    message: string,
  ) {
    super(message);
  }
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

// ModelProto
const MODEL_IR_VERSION = 1;
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
// OperatorSetIdProto
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;
// GraphProto
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
// ValueInfoProto
const VALUE_INFO_NAME = 1;
// NodeProto
const NODE_OP_TYPE = 4;
const NODE_DOMAIN = 7;
// TensorProto
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;
// StringStringEntryProto
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

const WINDOW_BYTES = 1 << 20;
/** Names and keys are short; anything longer is not what we are looking for. */
const MAX_STRING_BYTES = 64 * 1024;

/** Random-access reads through a window, so walking many small fields costs few syscalls. */
class FileCursor {
  private window = Buffer.alloc(0);
  private windowStart = 0;
  pos = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  private async ensure(bytes: number): Promise<void> {
    if (this.pos >= this.windowStart && this.pos + bytes <= this.windowStart + this.window.length) return;
    const length = Math.min(Math.max(WINDOW_BYTES, bytes), this.size - this.pos);
    const buffer = Buffer.alloc(Math.max(length, 0));
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.pos);
    this.window = buffer.subarray(0, bytesRead);
    this.windowStart = this.pos;
  }

  async byte(end: number): Promise<number> {
    if (this.pos >= end) throw this.pastEnd(1, end);
    await this.ensure(1);
    const value = this.window[this.pos - this.windowStart];
    if (value === undefined) throw this.pastEnd(1, end);
    this.pos++;
    return value;
  }

  async varint(end: number): Promise<number> {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = await this.byte(end);
      // Values past 2^53 only matter for skipping, where they are out of range anyway.
      result += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return result;
    }
    throw new OnnxFormatError('malformed', `a varint at byte ${this.pos} is longer than 10 bytes`);
  }

  async bytes(length: number, end: number): Promise<Buffer> {
    if (this.pos + length > end) throw this.pastEnd(length, end);
    await this.ensure(length);
    const start = this.pos - this.windowStart;
    this.pos += length;
    return Buffer.from(this.window.subarray(start, start + length));
  }

  skip(length: number, end: number): void {
    if (this.pos + length > end) throw this.pastEnd(length, end);
    this.pos += length;
  }

  private pastEnd(length: number, end: number): OnnxFormatError {
    if (end >= this.size) {
      return new OnnxFormatError('truncated', `the file is truncated: a field at byte ${this.pos} needs ${length} bytes but the file ends at ${this.size}`);
    }
    return new OnnxFormatError('malformed', `a field at byte ${this.pos} runs past the end of the message that holds it`);
  }
}

interface Field {
  number: number;
  wire: number;
  /** For WIRE_LEN: the payload's length; the cursor is at its first byte. */
  length: number;
  /** For WIRE_VARINT: the value. */
  value: number;
}

async function nextField(cursor: FileCursor, end: number): Promise<Field> {
  const at = cursor.pos;
  const tag = await cursor.varint(end);
  const number = Math.floor(tag / 8);
  const wire = tag % 8;
  if (number < 1) throw new OnnxFormatError('malformed', `field number 0 at byte ${at}`);
  switch (wire) {
    case WIRE_VARINT:
      return { number, wire, length: 0, value: await cursor.varint(end) };
    case WIRE_I64:
      cursor.skip(8, end);
      return { number, wire, length: 8, value: 0 };
    case WIRE_I32:
      cursor.skip(4, end);
      return { number, wire, length: 4, value: 0 };
    case WIRE_LEN: {
      const length = await cursor.varint(end);
      if (cursor.pos + length > end) {
        if (end >= cursor.size) {
          throw new OnnxFormatError('truncated', `the file is truncated: a field at byte ${at} declares ${length} bytes but only ${cursor.size - cursor.pos} remain`);
        }
        throw new OnnxFormatError('malformed', `a field at byte ${at} declares ${length} bytes, more than the message that holds it`);
      }
      return { number, wire, length, value: 0 };
    }
    default:
      throw new OnnxFormatError('malformed', `wire type ${wire} at byte ${at} is not one protobuf uses for ONNX`);
  }
}

async function readString(cursor: FileCursor, field: Field, end: number): Promise<string | null> {
  if (field.wire !== WIRE_LEN) return null;
  if (field.length > MAX_STRING_BYTES) {
    cursor.skip(field.length, end);
    return null;
  }
  return (await cursor.bytes(field.length, end)).toString('utf8');
}

/** Walks a message's fields, handing each to `visit`, which must consume LEN payloads it reads. */
async function walk(cursor: FileCursor, end: number, visit: (field: Field, fieldEnd: number) => Promise<boolean>): Promise<void> {
  while (cursor.pos < end) {
    const field = await nextField(cursor, end);
    const fieldEnd = cursor.pos + (field.wire === WIRE_LEN ? field.length : 0);
    const consumed = await visit(field, fieldEnd);
    if (field.wire === WIRE_LEN && !consumed) cursor.skip(fieldEnd - cursor.pos, end);
    if (field.wire === WIRE_LEN && cursor.pos !== fieldEnd) cursor.pos = fieldEnd;
  }
}

async function valueInfoName(cursor: FileCursor, end: number): Promise<string> {
  let name = '';
  await walk(cursor, end, async (field, fieldEnd) => {
    if (field.number === VALUE_INFO_NAME) {
      name = (await readString(cursor, field, fieldEnd)) ?? '';
      return true;
    }
    return false;
  });
  return name;
}

/** `op` in the default ONNX domain, `domain.op` in any other (com.microsoft.GroupQueryAttention). */
async function nodeOperator(cursor: FileCursor, end: number): Promise<string> {
  let opType = '';
  let domain = '';
  await walk(cursor, end, async (field, fieldEnd) => {
    if (field.number === NODE_OP_TYPE) opType = (await readString(cursor, field, fieldEnd)) ?? '';
    else if (field.number === NODE_DOMAIN) domain = (await readString(cursor, field, fieldEnd)) ?? '';
    else return false;
    return true;
  });
  return domain === '' || domain === 'ai.onnx' ? opType : `${domain}.${opType}`;
}

async function externalLocation(cursor: FileCursor, end: number): Promise<string | null> {
  let external = false;
  let location: string | null = null;
  await walk(cursor, end, async (field, fieldEnd) => {
    if (field.number === TENSOR_DATA_LOCATION && field.wire === WIRE_VARINT) external = field.value === DATA_LOCATION_EXTERNAL;
    if (field.number === TENSOR_EXTERNAL_DATA && field.wire === WIRE_LEN) {
      let key = '';
      let value = '';
      await walk(cursor, fieldEnd, async (entry, entryEnd) => {
        if (entry.number === ENTRY_KEY) key = (await readString(cursor, entry, entryEnd)) ?? '';
        else if (entry.number === ENTRY_VALUE) value = (await readString(cursor, entry, entryEnd)) ?? '';
        else return false;
        return true;
      });
      if (key === 'location') location = value;
      return true;
    }
    return false;
  });
  return external ? location : null;
}

/** The outline of the ONNX file at `file`; throws OnnxFormatError if it is not one. */
export async function readOnnxGraphOutline(file: string): Promise<OnnxGraphOutline> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const cursor = new FileCursor(handle, size);
    const outline: OnnxGraphOutline = { irVersion: 0, opsetImports: [], inputs: [], outputs: [], externalDataFiles: [], initializerCount: 0, opCounts: {} };
    const external = new Set<string>();
    let graphs = 0;
    await walk(cursor, size, async (field, fieldEnd) => {
      if (field.number === MODEL_IR_VERSION && field.wire === WIRE_VARINT) outline.irVersion = field.value;
      if (field.number === MODEL_OPSET_IMPORT && field.wire === WIRE_LEN) {
        let domain = '';
        let version = 0;
        await walk(cursor, fieldEnd, async (entry, entryEnd) => {
          if (entry.number === OPSET_DOMAIN) domain = (await readString(cursor, entry, entryEnd)) ?? '';
          else if (entry.number === OPSET_VERSION && entry.wire === WIRE_VARINT) version = entry.value;
          else return false;
          return true;
        });
        outline.opsetImports.push({ domain, version });
        return true;
      }
      if (field.number === MODEL_GRAPH && field.wire === WIRE_LEN) {
        graphs++;
        await walk(cursor, fieldEnd, async (g, gEnd) => {
          if (g.wire !== WIRE_LEN) return false;
          if (g.number === GRAPH_NODE) {
            const op = await nodeOperator(cursor, gEnd);
            outline.opCounts[op] = (outline.opCounts[op] ?? 0) + 1;
          } else if (g.number === GRAPH_INPUT) outline.inputs.push(await valueInfoName(cursor, gEnd));
          else if (g.number === GRAPH_OUTPUT) outline.outputs.push(await valueInfoName(cursor, gEnd));
          else if (g.number === GRAPH_INITIALIZER) {
            outline.initializerCount++;
            const location = await externalLocation(cursor, gEnd);
            if (location) external.add(location);
          } else return false;
          return true;
        });
        return true;
      }
      return false;
    });
    if (graphs !== 1) throw new OnnxFormatError('malformed', graphs === 0 ? 'it has no graph' : `it has ${graphs} graphs`);
    if (outline.irVersion < 1 || outline.irVersion > 64) throw new OnnxFormatError('malformed', `its IR version (${outline.irVersion}) is not a real one`);
    if (outline.opsetImports.length === 0) throw new OnnxFormatError('malformed', 'it imports no operator set');
    outline.externalDataFiles = [...external];
    return outline;
  } finally {
    await handle.close();
  }
}

/** Layers a decoder graph holds a KV cache for: the count of `past_key_values.N.key` inputs. */
export function kvCacheLayers(outline: OnnxGraphOutline): number {
  return outline.inputs.filter((name) => /^past_key_values\.\d+\.key$/.test(name)).length;
}
