// Rewrites an ONNX file the way the engine runs it best, once, when a model is imported or
// downloaded (never the user's own folder):
// - weights held inline move into a data file beside it (onnx's external-data layout: each
//   initializer names the file, an offset and a length). onnxruntime keeps inline weights twice
//   -- the parsed protobuf and its own tensors -- while it maps an external file and reads each
//   tensor once. Qwen2.5-0.5B-shaped q4 (733 MiB file), RSS after load: 1,459 MiB inline, 808
//   MiB external.
// - 4-bit MatMulNBits nodes compute with int8 activations (accuracy_level 4): what
//   onnxruntime-genai's model builder writes for CPU and the arithmetic of llama.cpp's Q4_0 x
//   Q8_0 dot products, where transformers.js' exports leave the float32 default. SmolLM2-shaped
//   q4 on 2 cores: decode 82 -> 107 tok/s; the bound on what it changes is stated in
//   Q4_ACCURACY_LEVEL's comment and held by the engine's tests.
// - a graph without `num_logits_to_keep` gets the LM head's input sliced to the last position,
//   so a prompt of n tokens costs one row of logits instead of n (Qwen2.5-0.5B: 151,936 x 896
//   multiply-adds per row, a quarter of prefill's work, and a 78 MB logits tensor per 128-token
//   chunk). The engine only ever reads the last position's logits.
// The file is streamed: small fields are copied by range, weights straight into the data file.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  DATA_LOCATION_EXTERNAL,
  ENTRY_KEY,
  ENTRY_VALUE,
  FileCursor,
  GRAPH_INITIALIZER,
  GRAPH_NODE,
  MODEL_GRAPH,
  nextField,
  NODE_ATTRIBUTE,
  NODE_DOMAIN,
  NODE_INPUT,
  NODE_NAME,
  NODE_OP_TYPE,
  NODE_OUTPUT,
  TENSOR_DATA_TYPE,
  TENSOR_DIMS,
  TENSOR_NAME,
  TENSOR_TYPE_INT64,
  ATTRIBUTE_I,
  ATTRIBUTE_NAME,
  ATTRIBUTE_TYPE,
  ATTRIBUTE_TYPE_INT,
  readString,
  TENSOR_DATA_LOCATION,
  TENSOR_EXTERNAL_DATA,
  TENSOR_RAW_DATA,
  varint,
  WIRE_LEN,
  WIRE_VARINT,
} from './onnx-wire.ts';
import { readOnnxGraphOutline } from './onnx-graph.ts';

/** A file with fewer inline weight bytes keeps them inline: the second copy costs little. */
export const EXTERNALIZE_MIN_INLINE_BYTES = 16 * 2 ** 20;
/**
 * accuracy_level for 4-bit MatMulNBits: 4 = int8 activations, quantized per block of 32 as the
 * weights are. Measured on the project's random-weight SmolLM2- and Qwen-shaped q4 models
 * against the float32 default: first-token top-8 probabilities within 3% relative (random
 * weights give flat distributions, the worst case for this); the engine's tests hold 5%.
 */
export const Q4_ACCURACY_LEVEL = 4;
/** Smaller tensors stay inline (onnx's own default threshold). */
const MIN_TENSOR_BYTES = 1024;
/** Each tensor starts on a page, so onnxruntime can map it without copying. */
const ALIGNMENT = 4096;
/** Each chunk is hashed on the calling thread: 1 MiB keeps each slice of work to a few ms. */
const COPY_CHUNK_BYTES = 2 ** 20;

/** A range of the source file, or bytes written anew. */
type Piece = { offset: number; length: number } | Buffer;

interface MovedTensor {
  offset: number;
  length: number;
  dataOffset: number;
}

interface Plan {
  pieces: Piece[];
  moved: MovedTensor[];
  dataBytes: number;
  /** False when some initializer already lives outside the file: the exporter chose the layout, keep it. */
  moveWeights: boolean;
  /** MatMulNBits nodes given the accuracy level. */
  retunedNodes: number;
  /** The LM head's input, when it now reads the last position only. */
  slicedHeadInput: string | null;
}

export interface WrittenFile {
  /** The file's name, beside the .onnx file. */
  name: string;
  size: number;
  sha256: string;
}

export interface RewriteResult {
  onnx: WrittenFile;
  /** Null when the weights stay where they were. */
  data: WrittenFile | null;
  movedTensors: number;
  retunedNodes: number;
  /** Whether the LM head now computes the last position's logits only. */
  lastPositionLogits: boolean;
}

export interface RewriteOptions {
  /** Below this many movable inline bytes the weights stay inline. */
  minInlineBytes?: number;
  /** accuracy_level for 4-bit MatMulNBits nodes; null leaves them as they are. */
  q4AccuracyLevel?: number | null;
  /** Slice the LM head's input to the last position in graphs without num_logits_to_keep (default true). */
  lastPositionLogits?: boolean;
  /** Source bytes consumed so far, for progress. */
  onBytes?: (bytes: number) => void;
}

/** The files a rewrite wrote, with paths relative to the model folder (`onnxPath`'s folder, `/`-separated). */
export function rewrittenFiles(result: RewriteResult, onnxPath: string): { path: string; size: number; sha256: string }[] {
  const folder = path.posix.dirname(onnxPath);
  return [result.onnx, ...(result.data ? [result.data] : [])].map(({ name, size, sha256 }) => ({ path: path.posix.join(folder, name), size, sha256 }));
}

/** The data file's name for an ONNX file: `model_q4.onnx` -> `model_q4.onnx_data`, as exporters name it. */
export function externalDataName(onnxFile: string): string {
  return `${path.basename(onnxFile)}_data`;
}

/**
 * Writes `source` as `target` (the graph, with its weights in `target`'s data file when they
 * move), each file complete or not at all. `source` may be `target`. Returns null, writing
 * nothing, when nothing would change. Throws OnnxFormatError for a file that is not protobuf or
 * is cut short.
 */
export async function rewriteOnnxForEngine(source: string, target: string, options: RewriteOptions = {}): Promise<RewriteResult | null> {
  const minInlineBytes = options.minInlineBytes ?? EXTERNALIZE_MIN_INLINE_BYTES;
  const accuracyLevel = options.q4AccuracyLevel === undefined ? Q4_ACCURACY_LEVEL : options.q4AccuracyLevel;
  const input = await open(source, 'r');
  const temporary: string[] = [];
  try {
    const size = (await input.stat()).size;
    const outline = await readOnnxGraphOutline(source);
    const opset = outline.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
    const choices: PlanChoices = {
      moveWeights: outline.externalDataFiles.length === 0,
      accuracyLevel,
      // Slice takes its bounds as inputs from opset 10; a graph that keeps logits itself needs nothing.
      sliceHead: (options.lastPositionLogits ?? true) && opset >= 10 && outline.outputs.includes(LOGITS) && !outline.inputs.includes('num_logits_to_keep'),
    };
    let plan = await planModel(new FileCursor(input, size), size, externalDataName(target), choices);
    const inlineBytes = plan.moved.reduce((sum, t) => sum + t.length, 0);
    // Too little to move: plan again leaving the weights where they are.
    if (plan.moved.length > 0 && inlineBytes < minInlineBytes) plan = await planModel(new FileCursor(input, size), size, externalDataName(target), { ...choices, moveWeights: false });
    if (plan.moved.length === 0 && plan.retunedNodes === 0 && plan.slicedHeadInput === null) return null;

    const dataName = externalDataName(target);
    const dataPath = path.join(path.dirname(target), dataName);
    const suffix = `.${randomBytes(6).toString('hex')}.tmp`;
    temporary.push(`${target}${suffix}`, `${dataPath}${suffix}`);
    let consumed = 0;
    const progress = (bytes: number): void => {
      consumed += bytes;
      options.onBytes?.(consumed);
    };
    const data =
      plan.moved.length === 0
        ? null
        : await writeOut(`${dataPath}${suffix}`, async (sink) => {
            for (const tensor of plan.moved) {
              await sink.write(Buffer.alloc(tensor.dataOffset - sink.size));
              await copyRange(input, tensor, sink, progress);
            }
          });
    const onnx = await writeOut(`${target}${suffix}`, async (sink) => {
      for (const piece of plan.pieces) {
        if (Buffer.isBuffer(piece)) await sink.write(piece);
        else await copyRange(input, piece, sink, progress);
      }
    });
    // Closed before the renames: Windows does not replace a file that is open.
    await input.close();
    // The data first: a crash between the two leaves the old .onnx, which does not need it.
    if (data) await rename(`${dataPath}${suffix}`, dataPath);
    await rename(`${target}${suffix}`, target);
    temporary.length = 0;
    return {
      onnx: { name: path.basename(target), ...onnx },
      data: data && { name: dataName, ...data },
      movedTensors: plan.moved.length,
      retunedNodes: plan.retunedNodes,
      lastPositionLogits: plan.slicedHeadInput !== null,
    };
  } finally {
    await input.close().catch(() => undefined);
    for (const file of temporary) await rm(file, { force: true });
  }
}

interface PlanChoices {
  moveWeights: boolean;
  accuracyLevel: number | null;
  sliceHead: boolean;
}

const LOGITS = 'logits';
/** The names the slice adds to the graph. */
const SLICE = '/jielong/last_position';

/** The output file as pieces; moved tensors name the data file by `dataName` alone (relative to the .onnx file). */
async function planModel(cursor: FileCursor, size: number, dataName: string, choices: PlanChoices): Promise<Plan> {
  const plan: Plan = { pieces: [], moved: [], dataBytes: 0, moveWeights: choices.moveWeights, retunedNodes: 0, slicedHeadInput: null };
  while (cursor.pos < size) {
    const start = cursor.pos;
    const field = await nextField(cursor, size);
    const end = fieldEnd(cursor, field);
    if (field.number === MODEL_GRAPH && field.wire === WIRE_LEN) {
      const graph: Piece[] = [];
      while (cursor.pos < end) {
        const at = cursor.pos;
        const entry = await nextField(cursor, end);
        const entryEnd = fieldEnd(cursor, entry);
        let rewritten: Piece[] | null = null;
        if (entry.number === GRAPH_INITIALIZER && entry.wire === WIRE_LEN && plan.moveWeights) rewritten = await planTensor(cursor, entryEnd, plan, dataName);
        if (entry.number === GRAPH_NODE && entry.wire === WIRE_LEN) rewritten = await planNode(cursor, entryEnd, plan, choices);
        if (rewritten) pushBytes(graph, lengthField(entry.number, rewritten));
        else pushRange(graph, at, entryEnd - at);
        cursor.pos = entryEnd;
      }
      // Repeated fields may come in any order: the slice and its bounds go last.
      if (plan.slicedHeadInput !== null) pushBytes(graph, ...sliceToLastPosition(plan.slicedHeadInput));
      pushBytes(plan.pieces, tag(MODEL_GRAPH, WIRE_LEN), varint(piecesLength(graph)));
      for (const piece of graph) plan.pieces.push(piece);
    } else pushRange(plan.pieces, start, end - start);
    cursor.pos = end;
  }
  return plan;
}

function fieldEnd(cursor: FileCursor, field: { wire: number; length: number }): number {
  // nextField leaves the cursor after a fixed-width value and at the start of a LEN payload.
  return field.wire === WIRE_LEN ? cursor.pos + field.length : cursor.pos;
}

/**
 * The initializer rewritten to point into the data file, as its new bytes, or null to keep it
 * as it is (small, or stored in typed fields rather than raw_data).
 */
async function planTensor(cursor: FileCursor, end: number, plan: Plan, dataName: string): Promise<Piece[] | null> {
  const kept: Piece[] = [];
  let raw: { offset: number; length: number } | null = null;
  while (cursor.pos < end) {
    const at = cursor.pos;
    const field = await nextField(cursor, end);
    const stop = fieldEnd(cursor, field);
    if (field.number === TENSOR_DATA_LOCATION || field.number === TENSOR_EXTERNAL_DATA) {
      // Only inline tensors come here (the file has no external data); a default location is rewritten.
    } else if (field.number === TENSOR_RAW_DATA && field.wire === WIRE_LEN) {
      raw = { offset: cursor.pos, length: field.length };
    } else pushRange(kept, at, stop - at);
    cursor.pos = stop;
  }
  if (!raw || raw.length < MIN_TENSOR_BYTES) return null;
  const dataOffset = Math.ceil(plan.dataBytes / ALIGNMENT) * ALIGNMENT;
  plan.moved.push({ ...raw, dataOffset });
  plan.dataBytes = dataOffset + raw.length;
  pushBytes(
    kept,
    tag(TENSOR_DATA_LOCATION, WIRE_VARINT),
    varint(DATA_LOCATION_EXTERNAL),
    lengthField(TENSOR_EXTERNAL_DATA, [entry('location', dataName)]),
    lengthField(TENSOR_EXTERNAL_DATA, [entry('offset', String(dataOffset))]),
    lengthField(TENSOR_EXTERNAL_DATA, [entry('length', String(raw.length))]),
  );
  return kept;
}

/**
 * The node rewritten, as new bytes, or null to keep it as it is: a 4-bit com.microsoft
 * MatMulNBits gets `accuracyLevel`; the LM head (a MatMul or MatMulNBits whose output is the
 * logits) reads its input's last position (sliceToLastPosition adds the slice).
 */
async function planNode(cursor: FileCursor, end: number, plan: Plan, choices: PlanChoices): Promise<Piece[] | null> {
  const fields: { number: number; range: { offset: number; length: number }; input?: string; attribute?: string }[] = [];
  let opType = '';
  let domain = '';
  let bits = 4;
  let level = 0;
  const outputs: string[] = [];
  while (cursor.pos < end) {
    const at = cursor.pos;
    const field = await nextField(cursor, end);
    const stop = fieldEnd(cursor, field);
    const entry: (typeof fields)[number] = { number: field.number, range: { offset: at, length: stop - at } };
    if (field.number === NODE_OP_TYPE) opType = (await readString(cursor, field, stop)) ?? '';
    else if (field.number === NODE_DOMAIN) domain = (await readString(cursor, field, stop)) ?? '';
    else if (field.number === NODE_INPUT) entry.input = (await readString(cursor, field, stop)) ?? '';
    else if (field.number === NODE_OUTPUT) outputs.push((await readString(cursor, field, stop)) ?? '');
    else if (field.number === NODE_ATTRIBUTE && field.wire === WIRE_LEN) {
      const attribute = await readIntAttribute(cursor, stop);
      entry.attribute = attribute.name;
      if (attribute.name === 'bits') bits = attribute.value;
      if (attribute.name === 'accuracy_level') level = attribute.value;
    }
    fields.push(entry);
    cursor.pos = stop;
  }
  const matMulNBits = opType === 'MatMulNBits' && domain === 'com.microsoft';
  const retune = choices.accuracyLevel !== null && matMulNBits && bits === 4 && level !== choices.accuracyLevel;
  const firstInput = fields.find((f) => f.input !== undefined)?.input;
  const headOp = matMulNBits || (opType === 'MatMul' && (domain === '' || domain === 'ai.onnx'));
  const head = choices.sliceHead && outputs.includes(LOGITS) && headOp && firstInput && firstInput !== `${SLICE}/output` ? firstInput : null;
  if (!retune && !head) return null;

  const kept: Piece[] = [];
  let inputSeen = false;
  for (const field of fields) {
    if (retune && field.attribute === 'accuracy_level') continue;
    if (head && field.input !== undefined && !inputSeen) {
      inputSeen = true;
      pushBytes(kept, stringField(NODE_INPUT, `${SLICE}/output`));
      continue;
    }
    pushRange(kept, field.range.offset, field.range.length);
  }
  if (retune) {
    plan.retunedNodes++;
    pushBytes(kept, lengthField(NODE_ATTRIBUTE, [Buffer.concat([stringField(ATTRIBUTE_NAME, 'accuracy_level'), tag(ATTRIBUTE_I, WIRE_VARINT), varint(choices.accuracyLevel!), tag(ATTRIBUTE_TYPE, WIRE_VARINT), varint(ATTRIBUTE_TYPE_INT)])]));
  }
  if (head) plan.slicedHeadInput = head;
  return kept;
}

/** Slice(input, starts [-1], ends [int64 max], axes [1]) and its three bounds, as graph fields. */
function sliceToLastPosition(input: string): Buffer[] {
  const bound = (name: string, value: bigint): Buffer => {
    const raw = Buffer.alloc(8);
    raw.writeBigInt64LE(value);
    return Buffer.concat([tag(TENSOR_DIMS, WIRE_VARINT), varint(1), tag(TENSOR_DATA_TYPE, WIRE_VARINT), varint(TENSOR_TYPE_INT64), stringField(TENSOR_NAME, name), tag(TENSOR_RAW_DATA, WIRE_LEN), varint(8), raw]);
  };
  const node = Buffer.concat([
    ...[input, `${SLICE}/starts`, `${SLICE}/ends`, `${SLICE}/axes`].map((name) => stringField(NODE_INPUT, name)),
    stringField(NODE_OUTPUT, `${SLICE}/output`),
    stringField(NODE_NAME, `${SLICE}/Slice`),
    stringField(NODE_OP_TYPE, 'Slice'),
  ]);
  const inGraph = (number: number, bytes: Buffer): Buffer => Buffer.concat([tag(number, WIRE_LEN), varint(bytes.length), bytes]);
  return [
    inGraph(GRAPH_NODE, node),
    inGraph(GRAPH_INITIALIZER, bound(`${SLICE}/starts`, -1n)),
    inGraph(GRAPH_INITIALIZER, bound(`${SLICE}/ends`, 0x7fffffffffffffffn)),
    inGraph(GRAPH_INITIALIZER, bound(`${SLICE}/axes`, 1n)),
  ];
}

function stringField(number: number, text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([tag(number, WIRE_LEN), varint(bytes.length), bytes]);
}

/** An attribute's name and integer value (0 when it holds none). */
async function readIntAttribute(cursor: FileCursor, end: number): Promise<{ name: string; value: number }> {
  let name = '';
  let value = 0;
  while (cursor.pos < end) {
    const field = await nextField(cursor, end);
    const stop = fieldEnd(cursor, field);
    if (field.number === ATTRIBUTE_NAME) name = (await readString(cursor, field, stop)) ?? '';
    else if (field.number === ATTRIBUTE_I && field.wire === WIRE_VARINT) value = field.value;
    cursor.pos = stop;
  }
  return { name, value };
}

function entry(key: string, value: string): Buffer {
  return Buffer.concat([stringField(ENTRY_KEY, key), stringField(ENTRY_VALUE, value)]);
}

/** A LEN field holding `pieces`: only the header is new when the pieces are ranges. */
function lengthField(number: number, pieces: Piece[]): Piece[] {
  return [Buffer.concat([tag(number, WIRE_LEN), varint(piecesLength(pieces))]), ...pieces];
}

function piecesLength(pieces: Piece[]): number {
  return pieces.reduce((sum, p) => sum + p.length, 0);
}

function pushRange(pieces: Piece[], offset: number, length: number): void {
  const last = pieces.at(-1);
  // Neighbouring ranges become one read.
  if (last && !Buffer.isBuffer(last) && last.offset + last.length === offset) last.length += length;
  else pieces.push({ offset, length });
}

function pushBytes(pieces: Piece[], ...parts: (Piece | Piece[])[]): void {
  for (const part of parts.flat()) {
    if (Buffer.isBuffer(part)) pieces.push(part);
    else pushRange(pieces, part.offset, part.length);
  }
}

function tag(number: number, wire: number): Buffer {
  return varint(number * 8 + wire);
}

interface Sink {
  size: number;
  write(bytes: Uint8Array): Promise<void>;
}

/** Writes a file through `fill`, hashing it, and syncs it to disk. */
async function writeOut(file: string, fill: (sink: Sink) => Promise<void>): Promise<{ size: number; sha256: string }> {
  const handle = await open(file, 'wx');
  const hash: Hash = createHash('sha256');
  try {
    const sink: Sink = {
      size: 0,
      async write(bytes) {
        if (bytes.length === 0) return;
        hash.update(bytes);
        let written = 0;
        while (written < bytes.length) written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
        sink.size += bytes.length;
      },
    };
    await fill(sink);
    await handle.sync();
    return { size: sink.size, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

async function copyRange(input: FileHandle, range: { offset: number; length: number }, sink: Sink, progress: (bytes: number) => void): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK_BYTES, range.length));
  let done = 0;
  while (done < range.length) {
    const want = Math.min(buffer.length, range.length - done);
    const { bytesRead } = await input.read(buffer, 0, want, range.offset + done);
    if (bytesRead === 0) throw new Error(`the file ended while copying bytes ${range.offset + done}..${range.offset + range.length}`);
    await sink.write(buffer.subarray(0, bytesRead));
    done += bytesRead;
    progress(bytesRead);
  }
}
