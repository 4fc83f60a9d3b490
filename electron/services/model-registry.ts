// The models on this machine: bundled ones (read-only, in the app's resources) and those in
// the models folder (downloaded or imported). Lists only complete models (model-registry-store
// explains the layout), imports a local folder after the same checks the engine runs, deletes
// with an explicit confirmation, and keeps the default model. It implements ModelSource, so the
// model service loads whatever it lists. Reading and listing touch only the disk.
import { guardFolderFiles, guardImportFolder, ImportRefusal } from './import-guard.ts';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { inspectModelFolder } from '../model-files/model-folder-inspect.ts';
import { rewriteOnnxForEngine, rewrittenFiles } from '../model-files/onnx-rewrite.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import type { ModelDtype } from '../shared/model-host-protocol.ts';
import {
  bundledManifestSchema,
  checkInstalledFolder,
  DOWNLOADS_DIR,
  isSafeRelativePath,
  MANIFEST_FILE,
  MODEL_ID_PATTERN,
  randomName,
  REGISTRY_FILE,
  slugModelId,
  sortDtypes,
  STAGING_DIR,
  TRASH_DIR,
  writeJsonAtomic,
  type InstalledManifest,
} from './model-registry-store.ts';
import type { ImportProgress, InstalledModel, RegistryEvent, RemovalPlan } from '../shared/model-registry-types.ts';
import type { RegistryErrorCode } from '../shared/user-errors.ts';
import type { ModelSource } from './model-service.ts';
import type { ChatTemplateChoice, ChatTemplatePreview, ModelDefaults } from '../shared/chat-template-types.ts';
import { checkChosenTemplate, modelDefaultsIn, previewChatTemplate, writeChatTemplate } from './model-chat-template.ts';
import { CHAT_TEMPLATE_FILE } from '../model-files/chat-templates.ts';

/** The files a template preview reads from a folder not imported yet. */
const PREVIEW_READS = ['tokenizer_config.json', 'tokenizer.json'] as const;

/** How long checking a folder to import may take (its files are regular files by then). */
const INSPECT_TIMEOUT_MS = 60_000;

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ImportRefusal('timeout', message)), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export type ModelRegistryErrorCode = RegistryErrorCode;

export class ModelRegistryError extends Error {
  override readonly name = 'ModelRegistryError';
  constructor(
    readonly code: ModelRegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ModelRegistryOptions {
  /** Where downloaded and imported models live (userData/models in the app). */
  modelsDir: string;
  /** Folders of bundled models (each model a folder with a jielong.json). */
  bundledDirs?: string[];
  /** True for the model loaded now: it cannot be deleted until another is loaded. */
  isInUse?: (id: string) => boolean;
  /** Inline weight bytes from which an imported ONNX file's weights move into a data file; tests lower it. */
  externalizeMinBytes?: number;
}

export interface ImportOptions {
  /** Display name; default: the folder's name. */
  name?: string;
  /** A chat template for a folder that has none (or replaces its own): checked, then saved with the copy. */
  chatTemplate?: ChatTemplateChoice;
  onProgress?(progress: ImportProgress): void;
}

export type RegistryListener = (event: RegistryEvent) => void;

/** Folders found but not listed, with the reason (a download cut short, a file deleted by hand). */
export interface UnlistedFolder {
  dir: string;
  reason: string;
}

const COPY_CHUNK = 1 << 20;

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

export class ModelRegistry implements ModelSource {
  private readonly listeners = new Set<RegistryListener>();
  private unlisted: UnlistedFolder[] = [];

  constructor(private readonly options: ModelRegistryOptions) {}

  get modelsDir(): string {
    return this.options.modelsDir;
  }

  on(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every complete model, bundled first, then by name. */
  async list(): Promise<InstalledModel[]> {
    const defaultId = await this.readDefault();
    const models: InstalledModel[] = [];
    const unlisted: UnlistedFolder[] = [];
    const seen = new Set<string>();
    for (const root of this.options.bundledDirs ?? []) {
      for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
        if (!entry.isDirectory()) continue;
        const model = await this.readBundled(path.join(root, entry.name)).catch(() => null);
        if (model && !seen.has(model.id)) {
          seen.add(model.id);
          models.push(model);
        }
      }
    }
    const installed: InstalledModel[] = [];
    for (const entry of await readdir(this.options.modelsDir, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const dir = path.join(this.options.modelsDir, entry.name);
      const check = await checkInstalledFolder(dir);
      if (!check.ok) {
        unlisted.push({ dir, reason: check.reason });
        continue;
      }
      if (seen.has(check.manifest.id)) {
        unlisted.push({ dir, reason: `a bundled model already has the id ${check.manifest.id}` });
        continue;
      }
      seen.add(check.manifest.id);
      installed.push(this.fromManifest(dir, check.manifest, await folderBytes(dir)));
    }
    installed.sort((a, b) => a.name.localeCompare(b.name));
    this.unlisted = unlisted;
    return [...models, ...installed].map((m) => ({ ...m, isDefault: m.id === defaultId }));
  }

  /** Folders in the models folder the last `list()` did not list, and why. */
  unlistedFolders(): UnlistedFolder[] {
    return [...this.unlisted];
  }

  async get(id: string): Promise<InstalledModel> {
    const model = (await this.list()).find((m) => m.id === id);
    if (!model) throw new ModelRegistryError('not_found', `No installed model has the id ${id}`);
    return model;
  }

  async has(id: string): Promise<boolean> {
    if ((await stat(path.join(this.options.modelsDir, id)).catch(() => null)) !== null) return true;
    return (await this.list()).some((m) => m.id === id);
  }

  /** ModelSource: the folder and the dtype to load (the best one for a CPU). */
  async resolve(modelId: string): Promise<{ modelDir: string; dtype: ModelDtype }> {
    const model = await this.get(modelId).catch(() => null);
    if (!model) throw new ModelHostError('model_not_found', `No installed model has the id ${modelId}`);
    return { modelDir: model.dir, dtype: model.dtypes[0]! };
  }

  /** The default model: the one set, if still installed, else the first listed. */
  async getDefault(): Promise<InstalledModel | null> {
    const models = await this.list();
    return models.find((m) => m.isDefault) ?? models[0] ?? null;
  }

  async setDefault(id: string | null): Promise<void> {
    if (id !== null) await this.get(id);
    await writeJsonAtomic(path.join(this.options.modelsDir, REGISTRY_FILE), { defaultModelId: id });
    this.emit({ type: 'default-changed', id });
  }

  /** What deleting a model frees, for the confirmation dialog. */
  async planRemoval(id: string): Promise<RemovalPlan> {
    const model = await this.get(id);
    if (!model.removable) throw new ModelRegistryError('read_only', `${model.name} comes with the app and cannot be deleted`);
    return { id, name: model.name, dir: model.dir, sizeBytes: model.sizeBytes, isDefault: model.isDefault };
  }

  /** Deletes a downloaded or imported model; needs `{ confirm: true }` (after showing planRemoval). */
  async remove(id: string, options: { confirm?: boolean } = {}): Promise<void> {
    const plan = await this.planRemoval(id);
    if (options.confirm !== true) {
      throw new ModelRegistryError('confirmation_required', `Deleting ${plan.name} frees ${plan.sizeBytes} bytes and cannot be undone: call remove with { confirm: true }`);
    }
    if (this.options.isInUse?.(id)) throw new ModelRegistryError('in_use', `${plan.name} is loaded; load another model (or unload it) before deleting it`);
    // Out of the listing in one rename, then deleted: a crash half-way never lists half a model.
    const trash = path.join(this.options.modelsDir, TRASH_DIR, randomName(id));
    await mkdir(path.dirname(trash), { recursive: true });
    await rename(plan.dir, trash);
    await rm(trash, { recursive: true, force: true });
    if (plan.isDefault) await writeJsonAtomic(path.join(this.options.modelsDir, REGISTRY_FILE), { defaultModelId: null });
    this.emit({ type: 'removed', id });
  }

  /**
   * Imports a model folder: checks it as the engine would (every dtype found), copies the
   * files the usable dtypes need into the models folder (hashing them), and lists it. A
   * folder the engine would refuse is refused with the reason, and nothing is copied.
   */
  async importFolder(source: string, options: ImportOptions = {}): Promise<InstalledModel> {
    const from = await this.folderToImport(source);
    const chatTemplate = options.chatTemplate ? await checkChosenTemplate(from, options.chatTemplate) : undefined;
    let report;
    try {
      report = await withTimeout(inspectModelFolder(from, chatTemplate === undefined ? {} : { chatTemplate }), INSPECT_TIMEOUT_MS, `Checking ${from} took longer than ${INSPECT_TIMEOUT_MS / 1000} s; nothing was imported.`);
    } catch (error) {
      if (error instanceof ImportRefusal) throw error;
      if (error instanceof ModelHostError && error.code === 'model_not_found') throw new ImportRefusal('folder_not_found', `There is no folder at ${from}.`);
      throw new ModelRegistryError('invalid_model', (error as Error).message);
    }
    if (report.usable.length === 0) {
      // Only the template is missing: the user can choose one and import again.
      if (report.refused.every((r) => r.code === 'no_chat_template')) {
        throw new ModelRegistryError('no_chat_template', `${from} has no chat template: choose one to import it`);
      }
      const reasons = report.refused.map((r) => r.reason);
      throw new ModelRegistryError('invalid_model', `${from} cannot be imported: ${reasons.join('; ')}`);
    }
    const name = options.name?.trim() || path.basename(from);
    if (name.length > 200) throw new ModelRegistryError('invalid_request', 'The name must be at most 200 characters');
    const id = await this.freeId(slugModelId(path.basename(from)));
    // A chosen template replaces the folder's own file, if it has one.
    const files = [...new Set(report.usable.flatMap((d) => d.files))].filter((file) => chatTemplate === undefined || file !== CHAT_TEMPLATE_FILE);
    for (const file of files) {
      if (!isSafeRelativePath(file)) throw new ModelRegistryError('invalid_model', `${from} names an unsafe file: ${file}`);
    }
    const sizes = await Promise.all(files.map(async (f) => (await stat(path.join(from, ...f.split('/')))).size));
    const totalBytes = sizes.reduce((a, b) => a + b, 0);

    const staging = path.join(this.options.modelsDir, STAGING_DIR, randomName(id));
    await mkdir(staging, { recursive: true });
    try {
      const copied: { path: string; size: number; sha256: string }[] = [];
      let done = 0;
      for (const [index, file] of files.entries()) {
        const source = path.join(from, ...file.split('/'));
        const target = path.join(staging, ...file.split('/'));
        await mkdir(path.dirname(target), { recursive: true });
        const onBytes = (bytes: number): void => options.onProgress?.({ file, bytes: done + bytes, totalBytes });
        copied.push(...((await this.copyRewritten(file, source, target, files, onBytes)) ?? [{ path: file, ...(await copyHashed(source, target, onBytes)) }]));
        done += sizes[index]!;
      }
      if (chatTemplate !== undefined) copied.push(await writeChatTemplate(staging, chatTemplate));
      // The copy is checked again: what is listed is what the engine will load.
      const recheck = await inspectModelFolder(staging);
      const dtypes = sortDtypes(recheck.usable.map((d) => d.dtype));
      if (dtypes.length === 0) throw new ModelRegistryError('io_error', `The copy of ${from} does not pass the checks the original passed: ${recheck.refused.map((r) => r.reason).join('; ')}`);
      const manifest: InstalledManifest = {
        format: 1,
        id,
        name,
        description: `Imported from ${from}`,
        dtypes,
        contextLength: report.contextLength,
        license: null,
        origin: { kind: 'imported', from },
        files: copied,
        installedAt: new Date().toISOString(),
      };
      await writeJsonAtomic(path.join(staging, MANIFEST_FILE), manifest);
      await syncFolder(staging);
      const target = path.join(this.options.modelsDir, id);
      if (await stat(target).catch(() => null)) throw new ModelRegistryError('already_exists', `${target} appeared while importing`);
      await rename(staging, target);
      await syncFolder(this.options.modelsDir);
      const model = await this.get(id);
      this.emit({ type: 'installed', model });
      return model;
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      if (error instanceof ModelRegistryError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new ModelRegistryError('disk_full', `The disk is full: ${from} could not be copied into ${this.options.modelsDir}; nothing was imported`);
      throw new ModelRegistryError('io_error', `${from} could not be copied: ${(error as Error).message}; nothing was imported`);
    }
  }

  /**
   * Copies an ONNX file rewritten as the engine runs it best (onnx-rewrite.ts); null when
   * nothing changes, and for any other file: those are copied as they are.
   */
  private async copyRewritten(file: string, source: string, target: string, files: string[], onBytes: (bytes: number) => void): Promise<{ path: string; size: number; sha256: string }[] | null> {
    if (!file.endsWith('.onnx')) return null;
    // A data file of that name is already part of the model: the weights stay where they are.
    const minInlineBytes = files.includes(`${file}_data`) ? Infinity : this.options.externalizeMinBytes;
    const written = await rewriteOnnxForEngine(source, target, { onBytes, ...(minInlineBytes === undefined ? {} : { minInlineBytes }) });
    return written && rewrittenFiles(written, file);
  }

  /** A folder the user chose to import: absolute, outside the models folder, and safe to read (import-guard). */
  private async folderToImport(source: string, guard: (folder: string) => Promise<void> = guardImportFolder): Promise<string> {
    if (typeof source !== 'string' || !path.isAbsolute(source)) throw new ModelRegistryError('invalid_request', `The folder to import must be an absolute path: ${String(source)}`);
    const from = path.resolve(source);
    const models = path.resolve(this.options.modelsDir);
    if (from === models || from.startsWith(models + path.sep)) throw new ModelRegistryError('invalid_request', `${from} is already inside the models folder`);
    // Before anything in it is read: only regular files and folders inside it, JSON within limits.
    await guard(from);
    return from;
  }

  /** The sampling a model's generation_config.json recommends (its defaults under the user's choices). */
  async defaults(id: string): Promise<ModelDefaults> {
    return modelDefaultsIn((await this.get(id)).dir);
  }

  /** A sample conversation rendered with a chosen template, for a folder to import or an installed model. */
  async previewChatTemplate(target: { path?: string | undefined; modelId?: string | undefined }, choice: ChatTemplateChoice): Promise<ChatTemplatePreview> {
    const dir = target.modelId !== undefined ? (await this.get(target.modelId)).dir : await this.folderToImport(target.path ?? '', (folder) => guardFolderFiles(folder, PREVIEW_READS));
    return previewChatTemplate(dir, choice);
  }

  /** Saves a checked chat template beside a downloaded or imported model (bundled ones are read-only). */
  async setChatTemplate(id: string, choice: ChatTemplateChoice): Promise<InstalledModel> {
    const model = await this.get(id);
    if (!model.removable) throw new ModelRegistryError('read_only', `${model.name} comes with the app: its chat template cannot be changed`);
    const source = await checkChosenTemplate(model.dir, choice);
    const entry = await writeChatTemplate(model.dir, source);
    // The manifest lists every file with its size: the new template replaces the old entry.
    const manifestFile = path.join(model.dir, MANIFEST_FILE);
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as InstalledManifest;
    await writeJsonAtomic(manifestFile, { ...manifest, files: [...manifest.files.filter((file) => file.path !== entry.path), entry] });
    const updated = await this.get(id);
    this.emit({ type: 'installed', model: updated });
    return updated;
  }

  /** Removes what an interrupted import or delete left behind. Local only. */
  async cleanUp(): Promise<void> {
    for (const dir of [STAGING_DIR, TRASH_DIR]) await rm(path.join(this.options.modelsDir, dir), { recursive: true, force: true });
  }

  /** Notes a model a download installed (the download manager calls this). */
  async notifyInstalled(id: string): Promise<void> {
    this.emit({ type: 'installed', model: await this.get(id) });
  }

  // ---- internals ----

  private async freeId(base: string): Promise<string> {
    const taken = new Set((await this.list()).map((m) => m.id));
    const inProgress = new Set(await readdir(path.join(this.options.modelsDir, DOWNLOADS_DIR)).catch(() => [] as string[]));
    for (let n = 1; n < 1000; n++) {
      const id = n === 1 ? base : `${base.slice(0, 120)}-${n}`;
      if (!MODEL_ID_PATTERN.test(id)) continue;
      if (taken.has(id) || inProgress.has(id)) continue;
      if (await stat(path.join(this.options.modelsDir, id)).catch(() => null)) continue;
      return id;
    }
    throw new ModelRegistryError('already_exists', `Too many models are named ${base}`);
  }

  private async readDefault(): Promise<string | null> {
    try {
      const value = JSON.parse(await readFile(path.join(this.options.modelsDir, REGISTRY_FILE), 'utf8')) as { defaultModelId?: unknown };
      return typeof value.defaultModelId === 'string' ? value.defaultModelId : null;
    } catch {
      return null;
    }
  }

  private async readBundled(dir: string): Promise<InstalledModel> {
    const manifest = bundledManifestSchema.parse(JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')));
    const dtypes = sortDtypes(manifest.dtypes);
    return {
      id: manifest.id,
      name: manifest.name,
      description: manifest.description,
      dtypes,
      contextLength: manifest.contextLength,
      sizeBytes: await folderBytes(dir),
      source: 'bundled',
      dir,
      origin: { kind: 'bundled' },
      files: [],
      license: null,
      installedAt: null,
      isDefault: false,
      removable: false,
    };
  }

  private fromManifest(dir: string, manifest: InstalledManifest, sizeBytes: number): InstalledModel {
    return {
      id: manifest.id,
      name: manifest.name,
      description: manifest.description,
      dtypes: sortDtypes(manifest.dtypes),
      contextLength: manifest.contextLength,
      sizeBytes,
      source: manifest.origin.kind === 'imported' ? 'imported' : manifest.origin.kind === 'downloaded' ? 'downloaded' : 'bundled',
      dir,
      origin: manifest.origin,
      files: manifest.files,
      license: manifest.license,
      installedAt: manifest.installedAt,
      isDefault: false,
      removable: true,
    };
  }

  private emit(event: RegistryEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // One broken listener must not stop the others.
      }
    }
  }
}

/** Copies a file while hashing it, then fsyncs the copy. */
async function copyHashed(from: string, to: string, onBytes: (bytes: number) => void): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  const source = await open(from, 'r');
  const target = await open(to, 'w');
  let size = 0;
  try {
    const buffer = Buffer.alloc(COPY_CHUNK);
    for (;;) {
      const { bytesRead } = await source.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      let written = 0;
      while (written < bytesRead) {
        const { bytesWritten } = await target.write(chunk, written, bytesRead - written, size + written);
        if (bytesWritten === 0) {
          const error = new Error('no space left') as NodeJS.ErrnoException;
          error.code = 'ENOSPC';
          throw error;
        }
        written += bytesWritten;
      }
      size += bytesRead;
      onBytes(size);
    }
    await target.sync();
  } finally {
    await source.close();
    await target.close();
  }
  return { size, sha256: hash.digest('hex') };
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}
