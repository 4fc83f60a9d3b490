import { describe, expect, it } from 'vitest';
import { float16ToFloat32 } from './float16.ts';

describe('float16ToFloat32', () => {
  it('decodes normals, subnormals, zeros, infinities and NaN', () => {
    const bits = Uint16Array.of(0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00);
    const out = float16ToFloat32(bits);
    expect(Array.from(out.slice(0, 5))).toEqual([1, -2, Math.fround(0.333251953125), 65504, 2 ** -24]);
    expect(Object.is(out[5], -0)).toBe(true);
    expect(out[6]).toBe(Infinity);
    expect(out[7]).toBe(-Infinity);
    expect(out[8]).toBeNaN();
  });

  it('agrees with a bit-exact float32 round trip for every finite half', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const out = float16ToFloat32(all);
    const view = new DataView(new ArrayBuffer(4));
    for (let h = 0; h < 0x10000; h += 97) {
      const exponent = (h >> 10) & 0x1f;
      if (exponent === 0x1f || exponent === 0) continue;
      // A normal half is a float32 with the exponent rebiased (15 -> 127) and the fraction shifted by 13.
      view.setUint32(0, ((h & 0x8000) << 16) | ((exponent + 112) << 23) | ((h & 0x3ff) << 13));
      expect(out[h]).toBe(view.getFloat32(0));
    }
  });
});
