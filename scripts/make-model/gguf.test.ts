// The GGUF writer: a header/metadata round trip read back by our own reader, the tensors of
// the tiny preset against the generated weights (incl. the per-head rotary permutation), and
// Q8_0/Q4_0 blocks against ggml's reference quantizers worked by hand. llama.cpp itself loads
// the files in the bench (scripts/bench/llamacpp), which checks greedy ids against onnxruntime.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BLOCK,
  dequantize,
  GGUF_ALIGNMENT,
  GGUF_VERSION,
  GgmlType,
  permuteRotaryRows,
  quantizeQ4_0,
  quantizeQ8_0,
  readGgufHeader,
  writeGguf,
  writeGgufModel,
  type GgufFile,
} from './gguf.ts';
import { PRESETS } from './presets.ts';
import { makeTempDir } from './test-support.ts';
import { buildTokenizer } from './tokenizer.ts';
import { generateWeight, weightSpecs } from './weights.ts';

const arch = PRESETS.tiny.architecture;
const SEED = 3;
let dir: string;
let cleanup: () => Promise<void>;
let file: Buffer;
let gguf: GgufFile;

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir('jielong-gguf-'));
  const out = path.join(dir, 'tiny-f32.gguf');
  await writeGgufModel({ preset: 'tiny', type: 'F32', seed: SEED, outFile: out });
  file = readFileSync(out);
  gguf = readGgufHeader(file);
});

afterAll(async () => {
  await cleanup();
});

function tensorF32(name: string): Float32Array {
  const t = gguf.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  const count = t.ne.reduce((a, b) => a * b, 1);
  return new Float32Array(file.buffer.slice(file.byteOffset + t.offset, file.byteOffset + t.offset + count * 4));
}

/** [rows, cols] -> [cols, rows] */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c]!;
  return out;
}

const spec = (name: string) => weightSpecs(arch).find((s) => s.name === name)!;

describe('GGUF file of the tiny preset', () => {
  it('has the header, metadata and tokenizer llama.cpp reads', () => {
    expect(file.readUInt32LE(0)).toBe(0x46554747);
    expect(file.subarray(0, 4).toString('latin1')).toBe('GGUF');
    expect(gguf.version).toBe(GGUF_VERSION);
    const m = gguf.metadata;
    expect(m.get('general.architecture')).toBe('llama');
    expect(m.get('general.file_type')).toBe(0);
    expect(m.get('llama.block_count')).toBe(arch.numHiddenLayers);
    expect(m.get('llama.embedding_length')).toBe(arch.hiddenSize);
    expect(m.get('llama.feed_forward_length')).toBe(arch.intermediateSize);
    expect(m.get('llama.attention.head_count')).toBe(arch.numAttentionHeads);
    expect(m.get('llama.attention.head_count_kv')).toBe(arch.numKeyValueHeads);
    expect(m.get('llama.rope.dimension_count')).toBe(arch.headDim);
    expect(m.get('llama.rope.freq_base')).toBe(arch.ropeTheta);
    expect(m.get('llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(arch.rmsNormEps, 10);
    const tokenizer = buildTokenizer(arch.vocabSize, arch.maxPositionEmbeddings);
    expect(m.get('tokenizer.ggml.model')).toBe('gpt2');
    expect(m.get('tokenizer.ggml.tokens')).toEqual(tokenizer.vocab);
    const types = m.get('tokenizer.ggml.token_type') as number[];
    expect(types.slice(0, 4)).toEqual([3, 3, 3, 1]);
    expect(types).toHaveLength(arch.vocabSize);
    const merges = m.get('tokenizer.ggml.merges') as string[];
    expect(merges).toHaveLength(arch.vocabSize - 3 - 256);
    expect(merges.every((s) => s.split(' ').length === 2)).toBe(true);
    expect(m.get('tokenizer.ggml.eos_token_id')).toBe(2);
    expect(m.get('tokenizer.ggml.add_bos_token')).toBe(false);
  });

  it('holds every tensor once, aligned, under llama.cpp names; no output.weight (tied)', () => {
    expect(gguf.tensors).toHaveLength(weightSpecs(arch).length);
    expect(new Set(gguf.tensors.map((t) => t.name)).size).toBe(gguf.tensors.length);
    for (const t of gguf.tensors) expect(t.offset % GGUF_ALIGNMENT).toBe(0);
    expect(gguf.dataOffset % GGUF_ALIGNMENT).toBe(0);
    const embd = gguf.tensors.find((t) => t.name === 'token_embd.weight')!;
    expect(embd.ne).toEqual([arch.hiddenSize, arch.vocabSize]);
    expect(embd.type).toBe(GgmlType.F32);
    expect(gguf.tensors.find((t) => t.name === 'blk.1.ffn_down.weight')!.ne).toEqual([arch.intermediateSize, arch.hiddenSize]);
    expect(gguf.tensors.some((t) => t.name === 'output.weight')).toBe(false);
    const last = gguf.tensors.at(-1)!;
    expect(file.length).toBeGreaterThanOrEqual(last.offset + last.ne.reduce((a, b) => a * b, 1) * 4);
  });

  it('stores the generated weights as [out, in] rows; q/k permuted per head, v not', () => {
    const h = arch.hiddenSize;
    const d = arch.headDim;
    expect(tensorF32('token_embd.weight')).toEqual(generateWeight(spec('model.embed_tokens.weight'), SEED));
    expect(tensorF32('blk.0.attn_norm.weight')).toEqual(generateWeight(spec('model.layers.0.input_layernorm.weight'), SEED));
    const v = generateWeight(spec('model.layers.0.self_attn.v_proj.weight'), SEED); // [in, out]
    expect(tensorF32('blk.0.attn_v.weight')).toEqual(transpose(v, h, arch.numKeyValueHeads * d));
    // convert_hf_to_gguf.py: w.reshape(heads, 2, d/2, in).swapaxes(1, 2): output row
    // head*d + 2i + s is HF row head*d + s*d/2 + i.
    const q = transpose(generateWeight(spec('model.layers.1.self_attn.q_proj.weight'), SEED), h, arch.numAttentionHeads * d);
    const stored = tensorF32('blk.1.attn_q.weight');
    for (let head = 0; head < arch.numAttentionHeads; head++) {
      for (let i = 0; i < d / 2; i++) {
        for (let s = 0; s < 2; s++) {
          const to = head * d + 2 * i + s;
          const from = head * d + s * (d / 2) + i;
          expect(stored.subarray(to * h, (to + 1) * h)).toEqual(q.subarray(from * h, (from + 1) * h));
        }
      }
    }
    const k = transpose(generateWeight(spec('model.layers.1.self_attn.k_proj.weight'), SEED), h, arch.numKeyValueHeads * d);
    expect(tensorF32('blk.1.attn_k.weight')).toEqual(permuteRotaryRows(k, arch.numKeyValueHeads, h));
  });
});

describe('writeGguf / readGgufHeader', () => {
  it('round-trips every value type it writes', async () => {
    const out = path.join(dir, 'values.gguf');
    writeGguf(
      out,
      [
        ['a.u32', { type: 'u32', value: 4_000_000_000 }],
        ['a.i32', { type: 'i32', value: -5 }],
        ['a.u64', { type: 'u64', value: 2 ** 40 }],
        ['a.f32', { type: 'f32', value: 0.5 }],
        ['a.bool', { type: 'bool', value: true }],
        ['a.str', { type: 'string', value: '接龙 ✓' }],
        ['a.strs', { type: 'string[]', value: ['x', '', 'Ġthe'] }],
        ['a.i32s', { type: 'i32[]', value: [1, -2, 3] }],
        ['a.f32s', { type: 'f32[]', value: [1.5, -2.25] }],
      ],
      [
        { name: 't0', ne: [3], type: 'F32', data: () => new Uint8Array(Float32Array.of(1, 2, 3).buffer) },
        { name: 't1', ne: [32, 2], type: 'Q8_0', data: () => quantizeQ8_0(new Float32Array(64).fill(1)) },
      ],
    );
    const bytes = readFileSync(out);
    const g = readGgufHeader(bytes);
    expect(Object.fromEntries(g.metadata)).toEqual({
      'a.u32': 4_000_000_000,
      'a.i32': -5,
      'a.u64': 2 ** 40,
      'a.f32': 0.5,
      'a.bool': true,
      'a.str': '接龙 ✓',
      'a.strs': ['x', '', 'Ġthe'],
      'a.i32s': [1, -2, 3],
      'a.f32s': [1.5, -2.25],
    });
    expect(g.tensors.map((t) => [t.name, t.ne, t.type])).toEqual([
      ['t0', [3], GgmlType.F32],
      ['t1', [32, 2], GgmlType.Q8_0],
    ]);
    // t0 takes 12 bytes, padded to the alignment; t1 starts on the next multiple of 32.
    expect(g.tensors[1]!.offset - g.tensors[0]!.offset).toBe(32);
    expect(bytes.length).toBe(g.tensors[1]!.offset + 2 * BLOCK.Q8_0.bytes + (32 - ((2 * BLOCK.Q8_0.bytes) % 32)));
    expect(Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset + g.tensors[0]!.offset, bytes.byteOffset + g.tensors[0]!.offset + 12)))).toEqual([1, 2, 3]);
  });
});

describe('ggml block quantization (quantize_row_*_ref)', () => {
  it('Q8_0: d = amax/127 in fp16, codes rounded half away from zero', () => {
    const x = new Float32Array(32);
    x[0] = 127;
    x[1] = 2.5;
    x[2] = -2.5;
    x[3] = -127;
    x[4] = 0.49;
    x[5] = 1e-9;
    const q = quantizeQ8_0(x);
    expect(q).toHaveLength(34);
    expect(q[0]! | (q[1]! << 8)).toBe(0x3c00); // fp16(1.0)
    expect(Array.from(new Int8Array(q.buffer, 2, 6))).toEqual([127, 3, -3, -127, 0, 0]);
    // An all-zero block: d = 0, every code 0.
    expect(Array.from(quantizeQ8_0(new Float32Array(32)))).toEqual(new Array(34).fill(0));
  });

  it('Q4_0: d = (signed max)/-8, code = min(15, trunc(x/d + 8.5)); element j low nibble, j+16 high nibble', () => {
    const x = new Float32Array(32);
    x[0] = -8; // the max magnitude, negative: d = 1
    x[1] = 7;
    x[2] = 7.9; // trunc(16.4) = 16 -> 15
    x[3] = 0.5; // trunc(9.0) = 9
    x[4] = -0.5; // trunc(8.0) = 8
    x[16] = 3; // high nibble of byte 0
    x[17] = -3;
    const q = quantizeQ4_0(x);
    expect(q).toHaveLength(18);
    expect(q[0]! | (q[1]! << 8)).toBe(0x3c00);
    const low = (j: number) => q[2 + j]! & 15;
    const high = (j: number) => q[2 + j]! >> 4;
    expect([low(0), low(1), low(2), low(3), low(4), low(5)]).toEqual([0, 15, 15, 9, 8, 8]);
    expect([high(0), high(1), high(2)]).toEqual([11, 5, 8]);
    // A positive max: d = -1, so +8 maps to code 0 and -8 clips to 15 (-> -7).
    const y = new Float32Array(32);
    y[0] = 8;
    y[1] = -8;
    const p = quantizeQ4_0(y);
    expect(p[0]! | (p[1]! << 8)).toBe(0xbc00); // fp16(-1.0)
    expect([p[2]! & 15, p[3]! & 15]).toEqual([0, 15]);
    expect(Array.from(dequantize('Q4_0', p, 32).subarray(0, 2))).toEqual([8, -7]);
  });

  // Q4_0's codes span -8..7 steps: the opposite end of a block whose max is positive clips to
  // -7 steps, so its bound is one step; Q8_0's is half a step.
  it('dequantizes within half a step (Q8_0) or one step (Q4_0) of the input (random rows)', () => {
    const x = new Float32Array(32 * 64);
    let s = 12345;
    for (let i = 0; i < x.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      x[i] = (s / 2 ** 32 - 0.5) * (1 + (i % 7));
    }
    for (const [type, steps, bound] of [
      ['Q8_0', 127, 0.5],
      ['Q4_0', 8, 1],
    ] as const) {
      const bytes = type === 'Q8_0' ? quantizeQ8_0(x) : quantizeQ4_0(x);
      expect(bytes).toHaveLength((x.length / 32) * BLOCK[type].bytes);
      const back = dequantize(type, bytes, x.length);
      for (let b = 0; b < x.length / 32; b++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
        const step = amax / steps;
        // The scale is stored in fp16: up to 2^-11 relative, times a code of up to `steps`.
        const fp16Error = steps * step * 2 ** -11;
        for (let j = 0; j < 32; j++) expect(Math.abs(back[b * 32 + j]! - x[b * 32 + j]!)).toBeLessThanOrEqual(step * bound + fp16Error + 1e-7);
      }
    }
  });
});
