// The curated model catalog (resources/catalog/models.json): read from disk and validated,
// never fetched. Sizes and hashes marked verified came from public sources; the downloader
// still checks every file against what the hub states when the download starts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { dtypeSchema } from '../../shared/model-host-protocol.ts';
import { onnxFilePath, REQUIRED_MODEL_FILES } from '../../shared/model-layout.ts';
import { MODEL_ID_PATTERN } from '../model-registry-store.ts';
import type { Catalog, CatalogEntry } from '../../shared/model-registry-types.ts';
import { DownloadError } from './download-error.ts';
import { validateRepoId, validateRepoPath, validateRevision } from './hub.ts';

/** Where the catalog sits in a resources folder (the source tree's resources/, or the packaged app's). */
export function catalogFileIn(resourcesDir: string): string {
  return path.join(resourcesDir, 'catalog', 'models.json');
}

const fileSchema = z
  .object({
    path: z.string().min(1),
    size: z.number().int().positive().nullable(),
    sizeVerified: z.boolean(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  })
  .strict();

const variantSchema = z
  .object({
    dtype: dtypeSchema,
    files: z.array(fileSchema).min(1),
    downloadBytes: z.number().int().positive().nullable(),
    ramEstimateBytes: z.number().int().positive().nullable(),
  })
  .strict();

const entrySchema = z
  .object({
    id: z.string().regex(MODEL_ID_PATTERN),
    name: z.string().min(1).max(120),
    description: z.string().max(1000),
    repo: z.string(),
    revision: z.string(),
    license: z.string().min(1),
    contextLength: z.number().int().positive().nullable(),
    parameters: z.string().min(1),
    variants: z.array(variantSchema).min(1),
    sources: z.array(z.string().min(1)).min(1),
    unverified: z.array(z.string()),
    mirror: z.string().regex(MODEL_ID_PATTERN).optional(),
  })
  .strict();

const catalogSchema = z
  .object({
    schemaVersion: z.literal(1),
    catalogVersion: z.string().min(1),
    updated: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    recommended: z.object({ catalogId: z.string(), dtype: dtypeSchema }).strict().nullable().default(null),
    entries: z.array(entrySchema),
  })
  .strict();

/** Validates a parsed catalog; throws with the first problem found. */
export function parseCatalog(raw: unknown, where = 'the catalog'): Catalog {
  const result = catalogSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${where} is not valid: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const catalog = result.data as Catalog;
  const ids = new Set<string>();
  for (const entry of catalog.entries) {
    const at = `${where}: entry ${entry.id}`;
    if (ids.has(entry.id)) throw new Error(`${at} appears twice`);
    ids.add(entry.id);
    try {
      validateRepoId(entry.repo);
      validateRevision(entry.revision);
    } catch (error) {
      throw new Error(`${at}: ${(error as Error).message}`);
    }
    const dtypes = new Set<string>();
    for (const variant of entry.variants) {
      if (dtypes.has(variant.dtype)) throw new Error(`${at} lists ${variant.dtype} twice`);
      dtypes.add(variant.dtype);
      const paths = variant.files.map((f) => f.path);
      for (const p of paths) {
        try {
          validateRepoPath(p);
        } catch {
          throw new Error(`${at}: unsafe file path ${p}`);
        }
      }
      for (const needed of [...REQUIRED_MODEL_FILES, onnxFilePath(variant.dtype)]) {
        if (!paths.includes(needed)) throw new Error(`${at} ${variant.dtype} does not list ${needed}`);
      }
      for (const f of variant.files) {
        if (f.sizeVerified && f.size === null) throw new Error(`${at} ${variant.dtype}: ${f.path} is marked sizeVerified with no size`);
      }
      const known = variant.files.every((f) => f.size !== null);
      const sum = known ? variant.files.reduce((total, f) => total + (f.size ?? 0), 0) : null;
      if (sum !== variant.downloadBytes) throw new Error(`${at} ${variant.dtype}: downloadBytes is ${variant.downloadBytes} but the files add up to ${sum}`);
      const weightsKnown = variant.files.filter((f) => f.path.startsWith('onnx/')).every((f) => f.size !== null);
      if (!weightsKnown && variant.ramEstimateBytes !== null) throw new Error(`${at} ${variant.dtype}: a RAM estimate needs the size of every ONNX file`);
    }
  }
  const { recommended } = catalog;
  if (recommended) {
    const entry = catalog.entries.find((e) => e.id === recommended.catalogId);
    if (!entry) throw new Error(`${where}: the recommended model ${recommended.catalogId} is not an entry`);
    if (!entry.variants.some((v) => v.dtype === recommended.dtype)) throw new Error(`${where}: the recommended model ${recommended.catalogId} has no ${recommended.dtype} variant`);
  }
  return catalog;
}

export async function loadCatalog(file: string): Promise<Catalog> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`The model catalog could not be read at ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`The model catalog at ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseCatalog(raw, `The model catalog at ${file}`);
}

export function findCatalogEntry(catalog: Catalog, id: string): CatalogEntry {
  const entry = catalog.entries.find((e) => e.id === id);
  if (!entry) throw new DownloadError('invalid_spec', `The catalog has no model "${id}"`);
  return entry;
}
