// Reads the outline of an ONNX file without loading it: the graph's input and output names,
// which operators its nodes use, and the external-data files its initializers point to. It walks the protobuf wire format
// field by field and seeks over the large parts (weights, node lists), so a multi-gigabyte
// file costs a few reads. A file that is cut short or is not protobuf at all is refused here,
// before onnxruntime sees it (field numbers: onnx/onnx.proto3).
import { open } from 'node:fs/promises';
import {
  DATA_LOCATION_EXTERNAL,
  ENTRY_KEY,
  ENTRY_VALUE,
  FileCursor,
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  GRAPH_NODE,
  GRAPH_OUTPUT,
  MODEL_GRAPH,
  MODEL_IR_VERSION,
  MODEL_OPSET_IMPORT,
  NODE_DOMAIN,
  NODE_OP_TYPE,
  OnnxFormatError,
  OPSET_DOMAIN,
  OPSET_VERSION,
  readString,
  TENSOR_DATA_LOCATION,
  TENSOR_EXTERNAL_DATA,
  VALUE_INFO_NAME,
  walk,
  WIRE_LEN,
  WIRE_VARINT,
} from './onnx-wire.ts';

export { OnnxFormatError } from './onnx-wire.ts';

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
