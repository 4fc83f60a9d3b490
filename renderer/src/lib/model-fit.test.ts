import { describe, expect, it } from 'vitest';
import type { CatalogEntry, CatalogVariant } from '@shared/model-registry-types.ts';
import { downloadPercent, fitsOnDisk, memoryFit, preferredVariant, sizeOnlyFiles, variantDownloadSize } from './model-fit.ts';

const GiB = 1024 ** 3;

function variant(dtype: CatalogVariant['dtype'], files: Array<[string, number | null, boolean]>, ram: number | null): CatalogVariant {
  const all = files.map(([path, size, sizeVerified]) => ({ path, size, sizeVerified, sha256: null }));
  const known = all.every((f) => f.size !== null);
  return { dtype, files: all, downloadBytes: known ? all.reduce((s, f) => s + f.size!, 0) : null, ramEstimateBytes: ram };
}

describe('memoryFit', () => {
  it('fits up to half the memory, is tight up to 80%, too large beyond', () => {
    expect(memoryFit(8 * GiB, 16 * GiB)).toBe('fits');
    expect(memoryFit(8 * GiB + 1, 16 * GiB)).toBe('tight');
    expect(memoryFit(12.8 * GiB, 16 * GiB)).toBe('tight');
    expect(memoryFit(13 * GiB, 16 * GiB)).toBe('too-large');
  });
  it('says unknown without an estimate or a memory figure', () => {
    expect(memoryFit(null, 16 * GiB)).toBe('unknown');
    expect(memoryFit(GiB, null)).toBe('unknown');
    expect(memoryFit(GiB, 0)).toBe('unknown');
  });
});

describe('variantDownloadSize', () => {
  it('is exact when every size is verified', () => {
    expect(variantDownloadSize(variant('q4', [['config.json', 700, true], ['onnx/model_q4.onnx', 1000, true]], 1))).toEqual({ bytes: 1700, exact: true });
  });
  it('is approximate when a size is the hub page’s rounded figure or a small file is unknown', () => {
    expect(variantDownloadSize(variant('q4', [['config.json', 700, true], ['onnx/model_q4.onnx', 1000, false]], 1))).toEqual({ bytes: 1700, exact: false });
    expect(variantDownloadSize(variant('q4', [['config.json', null, false], ['onnx/model_q4.onnx', 200_000_000, false]], 1))).toEqual({ bytes: 200_000_000, exact: false });
  });
  it('is unknown when a weights file’s size is', () => {
    expect(variantDownloadSize(variant('q4', [['config.json', 700, true], ['onnx/model_q4.onnx', null, false]], null))).toBeNull();
  });
});

describe('fitsOnDisk', () => {
  it('compares with the free space, and knows when it cannot tell', () => {
    expect(fitsOnDisk({ bytes: 10, exact: true }, 10)).toBe(true);
    expect(fitsOnDisk({ bytes: 11, exact: false }, 10)).toBe(false);
    expect(fitsOnDisk(null, 10)).toBeNull();
    expect(fitsOnDisk({ bytes: 1, exact: true }, null)).toBeNull();
  });
});

describe('preferredVariant', () => {
  const entry = (variants: CatalogVariant[]): CatalogEntry =>
    ({ id: 'x', name: 'X', description: '', repo: 'a/b', revision: 'main', license: 'mit', contextLength: null, parameters: '1B', variants, sources: ['s'], unverified: [] }) as CatalogEntry;
  it('takes the smallest memory need that fits', () => {
    const e = entry([variant('fp32', [['onnx/model.onnx', 1, true]], 6 * GiB), variant('q8', [['onnx/model_quantized.onnx', 1, true]], 3 * GiB), variant('q4', [['onnx/model_q4.onnx', 1, true]], 2 * GiB)]);
    expect(preferredVariant(e, 16 * GiB).dtype).toBe('q4');
  });
  it('falls back to the smallest known need, then to the first variant', () => {
    const big = entry([variant('fp32', [['onnx/model.onnx', 1, true]], 9 * GiB), variant('q8', [['onnx/model_quantized.onnx', 1, true]], 8 * GiB)]);
    expect(preferredVariant(big, 4 * GiB).dtype).toBe('q8');
    const unknown = entry([variant('q4', [['onnx/model_q4.onnx', null, false]], null), variant('q8', [['onnx/model_quantized.onnx', null, false]], null)]);
    expect(preferredVariant(unknown, 16 * GiB).dtype).toBe('q4');
  });
});

describe('downloadPercent', () => {
  it('is null until the total is known, then the share done, and 100 once installed', () => {
    expect(downloadPercent({ bytesDone: 0, bytesTotal: null, state: 'queued' })).toBeNull();
    expect(downloadPercent({ bytesDone: 25, bytesTotal: 100, state: 'downloading' })).toBe(25);
    expect(downloadPercent({ bytesDone: 100, bytesTotal: 100, state: 'installed' })).toBe(100);
    expect(downloadPercent({ bytesDone: 0, bytesTotal: null, state: 'installed' })).toBe(100);
  });
});

describe('sizeOnlyFiles', () => {
  it('names the files checked by size only, and none when every file has a hash', () => {
    const file = (path: string, check: 'sha256' | 'git-blob' | 'size') => ({ path, size: 1, sha256: null, check, bytesDone: 0, state: 'pending' as const });
    expect(sizeOnlyFiles({ files: [file('tokenizer.json', 'size'), file('config.json', 'git-blob'), file('onnx/model.onnx', 'size')] })).toEqual(['onnx/model.onnx', 'tokenizer.json']);
    expect(sizeOnlyFiles({ files: [file('config.json', 'git-blob'), file('onnx/model.onnx', 'sha256')] })).toEqual([]);
  });
});
