// Protobuf wire format, read from a file through a window: the field walker the ONNX outline
// reader and the external-data writer share. Large payloads are skipped or copied by range,
// never loaded whole (field numbers of the messages: onnx/onnx.proto3).
import type { FileHandle } from 'node:fs/promises';

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

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

// ModelProto
export const MODEL_IR_VERSION = 1;
export const MODEL_GRAPH = 7;
export const MODEL_OPSET_IMPORT = 8;
// OperatorSetIdProto
export const OPSET_DOMAIN = 1;
export const OPSET_VERSION = 2;
// GraphProto
export const GRAPH_NODE = 1;
export const GRAPH_INITIALIZER = 5;
export const GRAPH_INPUT = 11;
export const GRAPH_OUTPUT = 12;
// ValueInfoProto
export const VALUE_INFO_NAME = 1;
// NodeProto
export const NODE_INPUT = 1;
export const NODE_OUTPUT = 2;
export const NODE_NAME = 3;
export const NODE_OP_TYPE = 4;
export const NODE_ATTRIBUTE = 5;
export const NODE_DOMAIN = 7;
// AttributeProto
export const ATTRIBUTE_NAME = 1;
export const ATTRIBUTE_I = 3;
export const ATTRIBUTE_TYPE = 20;
export const ATTRIBUTE_TYPE_INT = 2;
// TensorProto
export const TENSOR_DIMS = 1;
export const TENSOR_DATA_TYPE = 2;
export const TENSOR_NAME = 8;
export const TENSOR_TYPE_INT64 = 7;
export const TENSOR_RAW_DATA = 9;
export const TENSOR_EXTERNAL_DATA = 13;
export const TENSOR_DATA_LOCATION = 14;
export const DATA_LOCATION_EXTERNAL = 1;
// StringStringEntryProto
export const ENTRY_KEY = 1;
export const ENTRY_VALUE = 2;

/** A protobuf varint's bytes, for a non-negative safe integer. */
export function varint(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a varint: ${value}`);
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

const WINDOW_BYTES = 1 << 20;
/** Names and keys are short; anything longer is not what we are looking for. */
export const MAX_STRING_BYTES = 64 * 1024;

/** Random-access reads through a window, so walking many small fields costs few syscalls. */
export class FileCursor {
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

export interface Field {
  number: number;
  wire: number;
  /** For WIRE_LEN: the payload's length; the cursor is at its first byte. */
  length: number;
  /** For WIRE_VARINT: the value. */
  value: number;
}

export async function nextField(cursor: FileCursor, end: number): Promise<Field> {
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

export async function readString(cursor: FileCursor, field: Field, end: number): Promise<string | null> {
  if (field.wire !== WIRE_LEN) return null;
  if (field.length > MAX_STRING_BYTES) {
    cursor.skip(field.length, end);
    return null;
  }
  return (await cursor.bytes(field.length, end)).toString('utf8');
}

/** Walks a message's fields, handing each to `visit`, which must consume LEN payloads it reads. */
export async function walk(cursor: FileCursor, end: number, visit: (field: Field, fieldEnd: number) => Promise<boolean>): Promise<void> {
  while (cursor.pos < end) {
    const field = await nextField(cursor, end);
    const fieldEnd = cursor.pos + (field.wire === WIRE_LEN ? field.length : 0);
    const consumed = await visit(field, fieldEnd);
    if (field.wire === WIRE_LEN && !consumed) cursor.skip(fieldEnd - cursor.pos, end);
    if (field.wire === WIRE_LEN && cursor.pos !== fieldEnd) cursor.pos = fieldEnd;
  }
}

