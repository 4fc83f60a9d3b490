// The shipped catalog is valid and honest about what it could not verify; a broken catalog is
// refused with the reason.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SOURCE_CATALOG_FILE } from '../../test-support/downloads/test-hub.ts';
import { describe, expect, it } from 'vitest';
import { onnxFilePath, REQUIRED_MODEL_FILES } from '../../shared/model-layout.ts';
import { findCatalogEntry, loadCatalog, parseCatalog } from './catalog.ts';

describe('the shipped catalog', () => {
  it('parses, and every variant names the files the engine needs', async () => {
    const catalog = await loadCatalog(SOURCE_CATALOG_FILE);
    expect(catalog.entries.length).toBeGreaterThanOrEqual(6);
    for (const entry of catalog.entries) {
      expect(entry.sources.length).toBeGreaterThan(0);
      for (const variant of entry.variants) {
        const paths = variant.files.map((f) => f.path);
        expect(paths).toEqual(expect.arrayContaining([...REQUIRED_MODEL_FILES, onnxFilePath(variant.dtype)]));
        // Anything not verified is said to be so.
        const gaps = variant.files.some((f) => !f.sizeVerified || f.sha256 === null) || entry.contextLength === null || entry.revision === 'main';
        if (gaps) expect(entry.unverified.length, entry.id).toBeGreaterThan(0);
      }
    }
  });

  it('pins revisions to full commit ids where it names one', async () => {
    const catalog = await loadCatalog(SOURCE_CATALOG_FILE);
    for (const entry of catalog.entries) expect(entry.revision, entry.id).toMatch(/^(main|[0-9a-f]{40})$/);
  });

  it('finds entries by id and says when one is unknown', async () => {
    const catalog = await loadCatalog(SOURCE_CATALOG_FILE);
    expect(findCatalogEntry(catalog, 'smollm2-360m-instruct').repo).toBe('HuggingFaceTB/SmolLM2-360M-Instruct');
    expect(() => findCatalogEntry(catalog, 'gpt-5')).toThrow(/The catalog has no model "gpt-5"/);
  });

  it('recommends one small model it lists, with a RAM estimate and a known download size', async () => {
    const catalog = await loadCatalog(SOURCE_CATALOG_FILE);
    const recommended = catalog.recommended!;
    const variant = findCatalogEntry(catalog, recommended.catalogId).variants.find((v) => v.dtype === recommended.dtype)!;
    // The first-run screen states both figures: neither may be a guess left empty.
    expect(variant.downloadBytes).toBeGreaterThan(0);
    expect(variant.downloadBytes!).toBeLessThan(1_000_000_000);
    expect(variant.ramEstimateBytes!).toBeLessThan(4 * 1024 ** 3);
  });
});

describe('parseCatalog refuses', () => {
  const good = () => ({
    schemaVersion: 1,
    catalogVersion: 't',
    updated: '2026-01-01',
    entries: [
      {
        id: 'tiny',
        name: 'Tiny',
        description: '',
        repo: 'org/tiny',
        revision: 'main',
        license: 'mit',
        contextLength: 2048,
        parameters: '1M',
        variants: [
          {
            dtype: 'q4',
            files: ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_q4.onnx'].map((p) => ({ path: p, size: 10, sizeVerified: true, sha256: null })),
            downloadBytes: 40,
            ramEstimateBytes: 100,
          },
        ],
        sources: ['here'],
        unverified: [],
      },
    ],
  });

  it.each([
    ['a duplicate id', (c: ReturnType<typeof good>) => c.entries.push(c.entries[0]!), /appears twice/],
    ['a wrong total', (c: ReturnType<typeof good>) => (c.entries[0]!.variants[0]!.downloadBytes = 41), /downloadBytes is 41 but the files add up to 40/],
    ['a variant without its ONNX file', (c: ReturnType<typeof good>) => c.entries[0]!.variants[0]!.files.pop(), /q4 does not list onnx\/model_q4\.onnx/],
    ['a bad repo id', (c: ReturnType<typeof good>) => (c.entries[0]!.repo = 'no-slash'), /not a Hugging Face repository id/],
    ['an unsafe path', (c: ReturnType<typeof good>) => (c.entries[0]!.variants[0]!.files[0]!.path = '../x'), /unsafe file path \.\.\/x/],
    ['a verified size that is missing', (c: ReturnType<typeof good>) => Object.assign(c.entries[0]!.variants[0]!.files[0]!, { size: null }), /sizeVerified with no size/],
    ['an unknown field', (c: ReturnType<typeof good>) => Object.assign(c.entries[0]!, { extra: 1 }), /Unrecognized key/],
    ['a recommendation of no entry', (c: ReturnType<typeof good>) => Object.assign(c, { recommended: { catalogId: 'other', dtype: 'q4' } }), /recommended model other is not an entry/],
    ['a recommendation of a missing dtype', (c: ReturnType<typeof good>) => Object.assign(c, { recommended: { catalogId: 'tiny', dtype: 'fp16' } }), /recommended model tiny has no fp16 variant/],
    ['a bad sha256', (c: ReturnType<typeof good>) => (c.entries[0]!.variants[0]!.files[0]!.sha256 = 'abc' as never), /sha256/],
  ])('%s', (_name, damage, message) => {
    const catalog = good();
    expect(() => parseCatalog(catalog)).not.toThrow();
    damage(catalog);
    expect(() => parseCatalog(catalog)).toThrow(message);
  });

  it('a missing or non-JSON file, with the path', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'jielong-catalog-'));
    try {
      await expect(loadCatalog(path.join(dir, 'none.json'))).rejects.toThrow(/could not be read at .*none\.json/);
      await writeFile(path.join(dir, 'bad.json'), '{');
      await expect(loadCatalog(path.join(dir, 'bad.json'))).rejects.toThrow(/is not valid JSON/);
      expect(SOURCE_CATALOG_FILE).toMatch(/resources[/\\]catalog[/\\]models\.json$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
