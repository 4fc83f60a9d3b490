// The same seeded weights as make:model's ONNX files, written as GGUF (llama.cpp's format),
// so the bench can run llama.cpp on exactly the model the app runs.
//
//   writeGgufModel({ preset: 'smollm2' | 'tiny', type, seed?, outFile })          Llama (weights.ts)
//   writeGgufModel({ mirror: 'qwen2.5-0.5b-instruct', fullSize?, type, seed?, outFile })  family mirrors
//   type: 'F32' | 'Q8_0' | 'Q4_0'
//   CLI: tsx scripts/make-model/gguf.ts (--preset NAME | --mirror ID [--full-size]) --type T [--seed N] --out FILE
//
// Format (GGUF v3, ggml/include/gguf.h and gguf-py/gguf/constants.py of llama.cpp): "GGUF",
// u32 version, u64 tensor count, u64 KV count; KVs (string key, u32 value type, value); tensor
// infos (string name, u32 n_dims, u64 ne[n_dims] innermost first, u32 ggml type, u64 offset
// into the data section); zero padding to general.alignment (32); the tensor data, each tensor
// starting at a multiple of the alignment. Little-endian; strings are u64 length + UTF-8.
//
// Tensors are [out, in] row-major (ne = [in, out]), HF's layout. For `llama`, q_proj/k_proj rows
// are permuted per head from HF's half-split rotary (rotate_half) to llama.cpp's interleaved
// pairs, exactly as convert_hf_to_gguf.py's LlamaModel.permute does; `qwen2` uses NEOX (half
// split) rotary in llama.cpp, so its rows stay as they are. Quantization is ggml's reference
// (quantize_row_q8_0_ref / quantize_row_q4_0_ref): what llama-quantize --pure writes from the
// F32 file. Which tensors are quantized follows the ONNX file of the same dtype: the smollm2
// preset's q8/q4 quantize the embedding (= tied LM head) too; the family mirrors keep it F32.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { effectiveNormWeight, familyWeightSpecs, toFloat16Bits, type FamilyArchitecture } from './family.ts';
import { CATALOG_MIRRORS, mirrorArchitecture, type MirrorSpec } from './mirrors.ts';
import { PRESETS, type Architecture, type PresetName } from './presets.ts';
import { buildTokenizer, SPECIAL_TOKEN_IDS, SPECIAL_TOKENS, CHATML_TEMPLATE } from './tokenizer.ts';
import { elementCount, generateWeight, weightSpecs, type WeightSpec } from './weights.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;

/** gguf_type (ggml/include/gguf.h). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueTypeId = (typeof GgufValueType)[keyof typeof GgufValueType];

/** ggml_type ids (ggml/include/ggml.h) of the types written here. */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
export type GgmlTypeName = keyof typeof GgmlType;
export const GGUF_TENSOR_TYPES = ['F32', 'Q8_0', 'Q4_0'] as const;
export type GgufTensorType = (typeof GGUF_TENSOR_TYPES)[number];

/** llama_ftype (general.file_type): ALL_F32 = 0, MOSTLY_Q4_0 = 2, MOSTLY_Q8_0 = 7. */
const FILE_TYPE: Readonly<Record<GgufTensorType, number>> = { F32: 0, Q4_0: 2, Q8_0: 7 };

/** Elements per block and bytes per block of each ggml type. */
export const BLOCK: Readonly<Record<GgmlTypeName, { elements: number; bytes: number }>> = {
  F32: { elements: 1, bytes: 4 },
  F16: { elements: 1, bytes: 2 },
  Q4_0: { elements: 32, bytes: 2 + 16 },
  Q8_0: { elements: 32, bytes: 2 + 32 },
};

export function tensorBytes(type: GgmlTypeName, ne: readonly number[]): number {
  const { elements, bytes } = BLOCK[type];
  if ((ne[0] as number) % elements !== 0) throw new Error(`gguf: ${type} rows need a multiple of ${elements} values, got ${ne[0]}`);
  return (elementCount(ne) / elements) * bytes;
}

// ---- Metadata values -------------------------------------------------------------------------

export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'u64'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'i32[]'; value: ArrayLike<number> }
  | { type: 'f32[]'; value: ArrayLike<number> };

export const u32 = (value: number): GgufValue => ({ type: 'u32', value });
export const f32 = (value: number): GgufValue => ({ type: 'f32', value });
export const str = (value: string): GgufValue => ({ type: 'string', value });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;
  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = Buffer.alloc(size);
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buffer.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.buffer.writeInt32LE(v, this.length);
    this.length += 4;
  }
  u64(v: number): void {
    this.ensure(8);
    this.buffer.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  f32(v: number): void {
    this.ensure(4);
    this.buffer.writeFloatLE(v, this.length);
    this.length += 4;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buffer[this.length++] = v;
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.ensure(bytes.length);
    bytes.copy(this.buffer, this.length);
    this.length += bytes.length;
  }
  pad(alignment: number): void {
    while (this.length % alignment !== 0) this.u8(0);
  }
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function writeValue(w: ByteWriter, v: GgufValue): void {
  switch (v.type) {
    case 'u32':
      w.u32(GgufValueType.UINT32);
      w.u32(v.value);
      return;
    case 'i32':
      w.u32(GgufValueType.INT32);
      w.i32(v.value);
      return;
    case 'u64':
      w.u32(GgufValueType.UINT64);
      w.u64(v.value);
      return;
    case 'f32':
      w.u32(GgufValueType.FLOAT32);
      w.f32(v.value);
      return;
    case 'bool':
      w.u32(GgufValueType.BOOL);
      w.u8(v.value ? 1 : 0);
      return;
    case 'string':
      w.u32(GgufValueType.STRING);
      w.string(v.value);
      return;
    case 'string[]':
      w.u32(GgufValueType.ARRAY);
      w.u32(GgufValueType.STRING);
      w.u64(v.value.length);
      for (const s of v.value) w.string(s);
      return;
    case 'i32[]':
      w.u32(GgufValueType.ARRAY);
      w.u32(GgufValueType.INT32);
      w.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) w.i32(v.value[i] as number);
      return;
    case 'f32[]':
      w.u32(GgufValueType.ARRAY);
      w.u32(GgufValueType.FLOAT32);
      w.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) w.f32(v.value[i] as number);
      return;
  }
}

// ---- Writer ----------------------------------------------------------------------------------

export interface GgufTensorSource {
  readonly name: string;
  /** ggml ne: innermost (contiguous) dimension first. */
  readonly ne: readonly number[];
  readonly type: GgmlTypeName;
  /** The tensor's bytes in its ggml type; called once, in file order, while writing. */
  data(): Uint8Array;
}

/**
 * Writes a GGUF file: header and tensor infos first (sizes are known from shapes), then each
 * tensor's data as its source produces it, so only one tensor is in memory at a time.
 * Returns the file size.
 */
export function writeGguf(file: string, metadata: ReadonlyArray<readonly [string, GgufValue]>, tensors: readonly GgufTensorSource[]): number {
  const header = new ByteWriter();
  header.u32(GGUF_MAGIC);
  header.u32(GGUF_VERSION);
  header.u64(tensors.length);
  header.u64(metadata.length);
  for (const [key, value] of metadata) {
    header.string(key);
    writeValue(header, value);
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    let size: number;
    try {
      size = tensorBytes(t.type, t.ne);
    } catch (error) {
      throw new Error(`${(error as Error).message} (${t.name}; the tiny sizes hold F32 only)`);
    }
    sizes.push(size);
    header.string(t.name);
    header.u32(t.ne.length);
    for (const d of t.ne) header.u64(d);
    header.u32(GgmlType[t.type]);
    header.u64(offset);
    offset += Math.ceil(size / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;
  }
  header.pad(GGUF_ALIGNMENT);

  const partial = `${file}.partial`;
  const fd = openSync(partial, 'w');
  try {
    let position = 0;
    const put = (bytes: Uint8Array): void => {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      position += bytes.length;
    };
    put(header.bytes());
    const zeros = new Uint8Array(GGUF_ALIGNMENT);
    tensors.forEach((t, i) => {
      const bytes = t.data();
      if (bytes.length !== sizes[i]) throw new Error(`gguf: tensor ${t.name} gave ${bytes.length} bytes, expected ${sizes[i]}`);
      put(bytes);
      const pad = (GGUF_ALIGNMENT - (bytes.length % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
      if (pad) put(zeros.subarray(0, pad));
    });
    closeSync(fd);
    renameSync(partial, file);
    return position;
  } catch (error) {
    closeSync(fd);
    rmSync(partial, { force: true });
    throw error;
  }
}

// ---- Reader (for tests and the bench's load-back check) --------------------------------------

export interface GgufTensorInfo {
  readonly name: string;
  readonly ne: number[];
  readonly type: number;
  /** Absolute file offset of the data. */
  readonly offset: number;
}

export interface GgufFile {
  readonly version: number;
  readonly metadata: Map<string, unknown>;
  readonly tensors: GgufTensorInfo[];
  readonly dataOffset: number;
}

/** Parses a GGUF header (metadata and tensor infos) from the file's first bytes. */
export function readGgufHeader(bytes: Uint8Array): GgufFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const u8 = (): number => view.getUint8(p++);
  const u32r = (): number => ((p += 4), view.getUint32(p - 4, true));
  const u64r = (): number => ((p += 8), Number(view.getBigUint64(p - 8, true)));
  const string = (): string => {
    const n = u64r();
    const s = Buffer.from(bytes.buffer, bytes.byteOffset + p, n).toString('utf8');
    p += n;
    return s;
  };
  const scalar = (type: number): unknown => {
    switch (type) {
      case GgufValueType.UINT8:
        return u8();
      case GgufValueType.INT8:
        return view.getInt8(p++);
      case GgufValueType.UINT16:
        return ((p += 2), view.getUint16(p - 2, true));
      case GgufValueType.INT16:
        return ((p += 2), view.getInt16(p - 2, true));
      case GgufValueType.UINT32:
        return u32r();
      case GgufValueType.INT32:
        return ((p += 4), view.getInt32(p - 4, true));
      case GgufValueType.FLOAT32:
        return ((p += 4), view.getFloat32(p - 4, true));
      case GgufValueType.BOOL:
        return u8() !== 0;
      case GgufValueType.STRING:
        return string();
      case GgufValueType.UINT64:
        return u64r();
      case GgufValueType.INT64:
        return ((p += 8), Number(view.getBigInt64(p - 8, true)));
      case GgufValueType.FLOAT64:
        return ((p += 8), view.getFloat64(p - 8, true));
      case GgufValueType.ARRAY: {
        const itemType = u32r();
        const n = u64r();
        const out: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = scalar(itemType);
        return out;
      }
      default:
        throw new Error(`gguf: unknown value type ${type} at byte ${p}`);
    }
  };
  if (u32r() !== GGUF_MAGIC) throw new Error('gguf: bad magic');
  const version = u32r();
  const tensorCount = u64r();
  const kvCount = u64r();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < kvCount; i++) {
    const key = string();
    metadata.set(key, scalar(u32r()));
  }
  const raw: Array<{ name: string; ne: number[]; type: number; offset: number }> = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = string();
    const nDims = u32r();
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) ne.push(u64r());
    raw.push({ name, ne, type: u32r(), offset: u64r() });
  }
  const alignment = (metadata.get('general.alignment') as number | undefined) ?? GGUF_ALIGNMENT;
  const dataOffset = Math.ceil(p / alignment) * alignment;
  return { version, metadata, tensors: raw.map((t) => ({ ...t, offset: dataOffset + t.offset })), dataOffset };
}

// ---- ggml quantization (reference implementations, ggml/src/ggml-quants.c) -------------------

/** fp16 bits of a float: GGML_FP32_TO_FP16 rounds to nearest even (F16C, or the scalar path). */
const fp16 = toFloat16Bits;

/** quantize_row_q8_0_ref: d = amax / 127 (float32), q = roundf(x / d) (half away from zero). */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % 32 !== 0) throw new Error('gguf: Q8_0 needs whole blocks of 32');
  const blocks = x.length / 32;
  const out = new Uint8Array(blocks * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j] as number));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    view.setUint16(b * 34, fp16(d), true);
    for (let j = 0; j < 32; j++) {
      const v = Math.fround((x[b * 32 + j] as number) * id);
      // roundf: half away from zero.
      const q = Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
      view.setInt8(b * 34 + 2 + j, q);
    }
  }
  return out;
}

/**
 * quantize_row_q4_0_ref: d = max / -8 where max is the value of largest magnitude (sign kept),
 * q = min(15, (int8)(x / d + 8.5)) (truncation toward zero); element j in the low nibble of
 * byte j, element j + 16 in its high nibble.
 */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  if (x.length % 32 !== 0) throw new Error('gguf: Q4_0 needs whole blocks of 32');
  const blocks = x.length / 32;
  const out = new Uint8Array(blocks * 18);
  const view = new DataView(out.buffer);
  const code = (v: number): number => Math.min(15, Math.trunc(Math.fround(v + 8.5)));
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j] as number;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d ? Math.fround(1 / d) : 0;
    view.setUint16(b * 18, fp16(d), true);
    for (let j = 0; j < 16; j++) {
      const x0 = Math.fround((x[b * 32 + j] as number) * id);
      const x1 = Math.fround((x[b * 32 + 16 + j] as number) * id);
      out[b * 18 + 2 + j] = code(x0) | (code(x1) << 4);
    }
  }
  return out;
}

/** dequantize_row_q8_0 / dequantize_row_q4_0, with the fp16 scale widened to float32. */
export function dequantize(type: 'Q8_0' | 'Q4_0', bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { bytes: blockBytes } = BLOCK[type];
  for (let b = 0; b < count / 32; b++) {
    const d = fromHalf(view.getUint16(b * blockBytes, true));
    for (let j = 0; j < 32; j++) {
      if (type === 'Q8_0') out[b * 32 + j] = Math.fround(view.getInt8(b * blockBytes + 2 + j) * d);
      else {
        const byte = bytes[b * blockBytes + 2 + (j % 16)] as number;
        const q = j < 16 ? byte & 0x0f : byte >> 4;
        out[b * 32 + j] = Math.fround((q - 8) * d);
      }
    }
  }
  return out;
}

function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function encode(type: GgmlTypeName, values: Float32Array): Uint8Array {
  if (type === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (type === 'Q8_0') return quantizeQ8_0(values);
  if (type === 'Q4_0') return quantizeQ4_0(values);
  throw new Error(`gguf: cannot encode ${type}`);
}

// ---- Models ----------------------------------------------------------------------------------

/**
 * convert_hf_to_gguf.py LlamaModel.permute: rows of q_proj/k_proj ([heads * headDim, in]) go
 * from HF's half-split rotary pairs (i, i + d/2) to llama.cpp's adjacent pairs (2i, 2i + 1):
 * reshape(heads, 2, d/2, in).swapaxes(1, 2).
 */
export function permuteRotaryRows(rows: Float32Array, heads: number, cols: number): Float32Array {
  const headDim = rows.length / cols / heads;
  const half = headDim / 2;
  const out = new Float32Array(rows.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let s = 0; s < 2; s++) {
        const from = h * headDim + s * half + i;
        const to = h * headDim + 2 * i + s;
        out.set(rows.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

/** The same for a bias vector (cols = 1). */
export const permuteRotaryBias = (bias: Float32Array, heads: number): Float32Array => permuteRotaryRows(bias, heads, 1);

/** [rows, cols] row-major -> [cols, rows]. */
function transpose(matrix: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(matrix.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = matrix[r * cols + c] as number;
  return out;
}

export type GgufModelOptions = (
  | { preset: PresetName; mirror?: undefined }
  | { mirror: string; fullSize?: boolean; preset?: undefined }
) & {
  type: GgufTensorType;
  seed?: number;
  outFile: string;
  /** Type of the (tied) embedding; default: as the ONNX file of the same dtype stores it. */
  embeddingType?: GgufTensorType;
};

export interface GgufModelResult {
  outFile: string;
  bytes: number;
  arch: 'llama' | 'qwen2';
  tensors: number;
}

const GGUF_NAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^model\.embed_tokens\.weight$/, 'token_embd.weight'],
  [/^model\.norm\.weight$/, 'output_norm.weight'],
  [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, 'blk.$1.attn_norm.weight'],
  [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, 'blk.$1.ffn_norm.weight'],
  [/^model\.layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)$/, 'blk.$1.attn_q.$2'],
  [/^model\.layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)$/, 'blk.$1.attn_k.$2'],
  [/^model\.layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)$/, 'blk.$1.attn_v.$2'],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj\.weight$/, 'blk.$1.attn_output.weight'],
  [/^model\.layers\.(\d+)\.mlp\.gate_proj\.weight$/, 'blk.$1.ffn_gate.weight'],
  [/^model\.layers\.(\d+)\.mlp\.up_proj\.weight$/, 'blk.$1.ffn_up.weight'],
  [/^model\.layers\.(\d+)\.mlp\.down_proj\.weight$/, 'blk.$1.ffn_down.weight'],
];

export function ggufTensorName(hfName: string): string {
  for (const [pattern, replacement] of GGUF_NAMES) if (pattern.test(hfName)) return hfName.replace(pattern, replacement);
  throw new Error(`gguf: no GGUF name for ${hfName}`);
}

function tokenizerMetadata(arch: Architecture): Array<[string, GgufValue]> {
  const tokenizer = buildTokenizer(arch.vocabSize, arch.maxPositionEmbeddings);
  const merges = (tokenizer.tokenizer.model as unknown as { merges: Array<[string, string]> }).merges.map(([a, b]) => `${a} ${b}`);
  // token_type: 1 normal, 3 control (gguf-py TokenType).
  const types = tokenizer.vocab.map((_, id) => (id < SPECIAL_TOKENS.length ? 3 : 1));
  return [
    ['tokenizer.ggml.model', str('gpt2')],
    // Our pre-tokenizer is GPT-2's ByteLevel regex: llama.cpp's "gpt-2" pre-type (LLAMA_VOCAB_PRE_TYPE_GPT2) splits by it.
    ['tokenizer.ggml.pre', str('gpt-2')],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: tokenizer.vocab }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
    ['tokenizer.ggml.merges', { type: 'string[]', value: merges }],
    ['tokenizer.ggml.bos_token_id', u32(SPECIAL_TOKEN_IDS['<|im_start|>'])],
    ['tokenizer.ggml.eos_token_id', u32(SPECIAL_TOKEN_IDS['<|im_end|>'])],
    ['tokenizer.ggml.padding_token_id', u32(SPECIAL_TOKEN_IDS['<|im_end|>'])],
    ['tokenizer.ggml.add_bos_token', bool(false)],
    ['tokenizer.chat_template', str(CHATML_TEMPLATE)],
  ];
}

/** Writes the model as GGUF; weights drawn exactly as make:model (weights.ts / family.ts) draws them. */
export async function writeGgufModel(options: GgufModelOptions): Promise<GgufModelResult> {
  const seed = options.seed ?? 0;
  let arch: Architecture;
  let kind: 'llama' | 'qwen2';
  let specs: Array<WeightSpec & { role?: string }>;
  let name: string;
  let normValue = (_spec: WeightSpec, raw: Float32Array): Float32Array => raw;
  let quantizedEmbedding: boolean;
  if (options.preset !== undefined) {
    const preset = PRESETS[options.preset];
    arch = preset.architecture;
    kind = 'llama';
    specs = weightSpecs(arch);
    name = preset.title;
    quantizedEmbedding = true; // graph.ts: q8/q4 store the embedding and tied head as MatMulNBits
  } else {
    const spec: MirrorSpec | undefined = (CATALOG_MIRRORS as Record<string, MirrorSpec>)[options.mirror];
    if (!spec) throw new Error(`gguf: no catalog mirror "${options.mirror}" (expected ${Object.keys(CATALOG_MIRRORS).join(', ')})`);
    const family: FamilyArchitecture = mirrorArchitecture(spec, options.fullSize ?? false);
    if (family.kind !== 'llama' && family.kind !== 'qwen2') throw new Error(`gguf: ${family.kind} mirrors are not written as GGUF`);
    if (family.ropeScaling) throw new Error('gguf: rope scaling is not written');
    arch = family;
    kind = family.kind;
    specs = familyWeightSpecs(family);
    name = spec.title;
    normValue = (_s, raw) => effectiveNormWeight(family, raw);
    quantizedEmbedding = false; // family-graph.ts: the tied head is MatMul by Transpose(embedding), never quantized
  }
  const embeddingType: GgufTensorType = options.embeddingType ?? (quantizedEmbedding ? options.type : 'F32');
  const { hiddenSize: h, numAttentionHeads: nh, numKeyValueHeads: nkv, headDim: d } = arch;
  if (h / nh !== d) throw new Error('gguf: head_dim != hidden / heads is not written (needs attention.key_length)');

  const p = kind;
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', str(kind)],
    ['general.name', str(name)],
    ['general.file_type', u32(FILE_TYPE[options.type])],
    ['general.quantization_version', u32(2)],
    ['general.alignment', u32(GGUF_ALIGNMENT)],
    [`${p}.context_length`, u32(arch.maxPositionEmbeddings)],
    [`${p}.embedding_length`, u32(h)],
    [`${p}.block_count`, u32(arch.numHiddenLayers)],
    [`${p}.feed_forward_length`, u32(arch.intermediateSize)],
    [`${p}.attention.head_count`, u32(nh)],
    [`${p}.attention.head_count_kv`, u32(nkv)],
    [`${p}.rope.freq_base`, f32(arch.ropeTheta)],
    [`${p}.rope.dimension_count`, u32(d)],
    [`${p}.attention.layer_norm_rms_epsilon`, f32(arch.rmsNormEps)],
    [`${p}.vocab_size`, u32(arch.vocabSize)],
    ...tokenizerMetadata(arch),
  ];

  const tensors: GgufTensorSource[] = specs.map((spec) => {
    const gname = ggufTensorName(spec.name);
    const isBias = spec.role === 'bias' || spec.name.endsWith('.bias');
    const isEmbedding = spec.name === 'model.embed_tokens.weight';
    const isLinear = spec.kind === 'linear';
    const [first, second] = spec.shape as [number, number];
    // [out, in] rows: ne = [in, out].
    // `kn` specs are [in, out] (ne[0] = in = first); `nk` (the embedding) is [vocab, hidden] (ne[0] = hidden = second).
    const ne = !isLinear ? [...spec.shape] : spec.layout === 'nk' ? [second, first] : [first, second];
    const type: GgmlTypeName = !isLinear ? 'F32' : isEmbedding ? embeddingType : options.type;
    const permuteHeads = kind === 'llama' ? (/q_proj/.test(spec.name) ? nh : /k_proj/.test(spec.name) ? nkv : 0) : 0;
    return {
      name: gname,
      ne,
      type,
      data: () => {
        let values = generateWeight(spec, seed);
        if (!isLinear) {
          if (!isBias) values = normValue(spec, values);
          if (permuteHeads) values = permuteRotaryBias(values, permuteHeads);
          return encode('F32', values);
        }
        if (spec.layout === 'kn') values = transpose(values, first, second);
        if (permuteHeads) values = permuteRotaryRows(values, permuteHeads, first);
        return encode(type, values);
      },
    };
  });

  await mkdir(path.dirname(path.resolve(options.outFile)), { recursive: true });
  const bytes = writeGguf(options.outFile, metadata, tensors);
  return { outFile: options.outFile, bytes, arch: kind, tensors: tensors.length };
}

// ---- CLI -------------------------------------------------------------------------------------

async function cli(argv: string[]): Promise<void> {
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const type = (get('--type') ?? 'F32') as GgufTensorType;
  const outFile = get('--out');
  const preset = get('--preset') as PresetName | undefined;
  const mirror = get('--mirror');
  if (!outFile || (!preset && !mirror) || !GGUF_TENSOR_TYPES.includes(type)) {
    console.error('usage: tsx scripts/make-model/gguf.ts (--preset tiny|smollm2 | --mirror ID [--full-size]) --type F32|Q8_0|Q4_0 [--seed N] --out FILE');
    process.exitCode = 2;
    return;
  }
  const seed = Number(get('--seed') ?? 0);
  const started = performance.now();
  const result = preset
    ? await writeGgufModel({ preset, type, seed, outFile })
    : await writeGgufModel({ mirror: mirror!, fullSize: argv.includes('--full-size'), type, seed, outFile });
  console.log(`Wrote ${result.outFile} (${result.arch}, ${type}, ${result.tensors} tensors, ${(result.bytes / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  cli(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
