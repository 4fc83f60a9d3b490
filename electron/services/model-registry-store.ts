// How models lie in the models folder, shared by the registry, the downloader and import:
//
//   <models>/<id>/                 an installed model: its files and jielong.json, written last
//   <models>/.downloads/<id>/      a download in progress: download.json, `<file>.part` files,
//                                  and files already verified; renamed to <models>/<id>/ whole
//   <models>/.staging/<random>/    an import being copied; renamed into place whole
//   <models>/.trash/<random>/      a model being deleted
//   <models>/registry.json         the default model
//
// A folder is an installed model only if its jielong.json lists every file and each is there
// with the stated size, so an interrupted download or copy is never listed as ready.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { dtypeSchema, type ModelDtype } from '../shared/model-host-protocol.ts';
import type { InstalledFile, ModelOrigin } from '../shared/model-registry-types.ts';

export const MANIFEST_FILE = 'jielong.json';
export const DOWNLOADS_DIR = '.downloads';
export const STAGING_DIR = '.staging';
export const TRASH_DIR = '.trash';
export const REGISTRY_FILE = 'registry.json';
export const DOWNLOAD_STATE_FILE = 'download.json';
export const PART_SUFFIX = '.part';

export const MODEL_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** A registry id from any text: lower case, [a-z0-9._-], no leading punctuation. */
export function slugModelId(text: string): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, 120);
  return slug || 'model';
}

/** Dtypes in the order a CPU runs them best; the registry loads the first one a model has. */
export const CPU_DTYPE_PREFERENCE: readonly ModelDtype[] = ['q4', 'q8', 'int8', 'uint8', 'bnb4', 'fp32', 'q4f16', 'fp16'];

export function sortDtypes(dtypes: Iterable<ModelDtype>): ModelDtype[] {
  const set = new Set(dtypes);
  return CPU_DTYPE_PREFERENCE.filter((d) => set.has(d));
}

const originSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('bundled') }),
  z.object({
    kind: z.literal('downloaded'),
    host: z.string(),
    repo: z.string(),
    revision: z.string(),
    commit: z.string().nullable(),
    catalogId: z.string().nullable(),
  }),
  z.object({ kind: z.literal('imported'), from: z.string() }),
]);

/** jielong.json of a downloaded or imported model. */
export const installedManifestSchema = z.object({
  format: z.literal(1),
  id: z.string().regex(MODEL_ID_PATTERN),
  name: z.string().min(1).max(200),
  description: z.string().max(2000),
  dtypes: z.array(dtypeSchema).min(1),
  contextLength: z.number().int().positive().nullable(),
  license: z.string().nullable(),
  origin: originSchema,
  files: z
    .array(z.object({ path: z.string().min(1), size: z.number().int().nonnegative(), sha256: z.string().nullable() }))
    .min(1),
  installedAt: z.string(),
});
export type InstalledManifest = z.infer<typeof installedManifestSchema> & { origin: ModelOrigin; files: InstalledFile[] };

/** jielong.json of a bundled model (made by make:model): no file list, read-only. */
export const bundledManifestSchema = z.object({
  id: z.string().regex(MODEL_ID_PATTERN),
  name: z.string().min(1),
  description: z.string().default(''),
  dtypes: z.array(dtypeSchema).min(1),
  contextLength: z.number().int().positive().nullable().default(null),
});

export type FolderCheck = { ok: true; manifest: InstalledManifest; sizeBytes: number } | { ok: false; reason: string };

/** Reads <dir>/jielong.json and checks every file it lists is there with its size. */
export async function checkInstalledFolder(dir: string): Promise<FolderCheck> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? `no ${MANIFEST_FILE}` : `${MANIFEST_FILE} is not valid JSON` };
  }
  const parsed = installedManifestSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: `${MANIFEST_FILE} is not a Jielong model manifest (${parsed.error.issues[0]?.message ?? 'invalid'})` };
  const manifest = parsed.data as InstalledManifest;
  if (manifest.id !== path.basename(dir)) return { ok: false, reason: `${MANIFEST_FILE} names the model ${manifest.id}, not ${path.basename(dir)}` };
  let sizeBytes = 0;
  for (const file of manifest.files) {
    if (!isSafeRelativePath(file.path)) return { ok: false, reason: `${MANIFEST_FILE} lists an unsafe path: ${file.path}` };
    const info = await stat(path.join(dir, ...file.path.split('/'))).catch(() => null);
    if (!info?.isFile()) return { ok: false, reason: `${file.path} is missing` };
    if (info.size !== file.size) return { ok: false, reason: `${file.path} has ${info.size} bytes, not ${file.size}` };
    sizeBytes += info.size;
  }
  return { ok: true, manifest, sizeBytes };
}

export function isSafeRelativePath(file: string): boolean {
  const segments = file.split('/');
  return file.length > 0 && !file.includes('\\') && !file.includes('\0') && segments.every((s) => s !== '' && s !== '.' && s !== '..');
}

/** Writes JSON so that a crash leaves the old file or the new one, never half of one. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Writes a file so that a crash leaves the old file or the new one, never half of one. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export function randomName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
