// Downloads models from the hub on the main side (never in the model host): plans the files a
// dtype needs from the hub's file list and config.json, checks disk space, then moves each
// file through file-transfer.ts (resume, verify, fsync, rename). A model becomes installed
// only when every file is verified and the engine's own folder checks pass: its staging
// folder is then renamed to <models>/<id> in one step. The state of each download is kept in
// a small JSON file next to its parts, so an app restart finds it again (paused, to resume).
// Nothing here touches the network until `inspect`, `start` or `resume` is called.
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { formatByteSize } from '../../shared/byte-size.ts';
import { verifyModelDtype } from '../../model-files/model-folder-inspect.ts';
import { rewriteOnnxForEngine, rewrittenFiles } from '../../model-files/onnx-rewrite.ts';
import { onnxFilePath } from '../../shared/model-layout.ts';
import { ModelHostError } from '../../shared/model-host-error.ts';
import { dtypeSchema } from '../../shared/model-host-protocol.ts';
import {
  checkInstalledFolder,
  DOWNLOAD_STATE_FILE,
  DOWNLOADS_DIR,
  MANIFEST_FILE,
  MODEL_ID_PATTERN,
  PART_SUFFIX,
  slugModelId,
  writeJsonAtomic,
  type InstalledManifest,
} from '../model-registry-store.ts';
import type { Catalog, DownloadEvent, DownloadFile, DownloadInfo, FileCheck, DownloadSpec, DownloadState, InstalledFile, RepoInspection } from '../../shared/model-registry-types.ts';
import { findCatalogEntry } from './catalog.ts';
import { DownloadError, isAbort } from './download-error.ts';
import { fileCheck, newPartHash, openPartFile, syncDir, transferFile, type OpenPart, type PartHash } from './file-transfer.ts';
import { nodeHttpGet, type HttpGet } from './http-transport.ts';
import {
  checkRepoBasics,
  fetchRepoFile,
  fetchRepoInfo,
  isDtype,
  planRepo,
  resolveHubHost,
  resolveUrl,
  validateRepoId,
  validateRepoPath,
  validateRevision,
  type HubConfig,
  type RepoInfo,
} from './hub.ts';
import { RateMeter } from './rate-meter.ts';
import { catalogModelId } from '../../shared/model-ids.ts';
import { freeDiskBytes } from '../system-service.ts';

export interface DownloadManagerOptions {
  /** The models folder (the registry's). */
  modelsDir: string;
  /** The catalog, or a function reading it (the app reads it from disk on first use). */
  catalog?: Catalog | null | (() => Promise<Catalog>);
  /** The hub host setting (a URL) or a function reading it; empty falls back to JIELONG_HUB_HOST, HF_ENDPOINT, huggingface.co. */
  hubHost?: string | null | (() => string | null | undefined);
  env?: NodeJS.ProcessEnv;
  /** The network: every request goes through it. */
  get?: HttpGet;
  /** Downloads transferring at once; the others wait, queued. */
  maxConcurrent?: number;
  /** Whether a registry id is taken (installed or bundled); default: a folder of that name exists. */
  isIdTaken?: (id: string) => Promise<boolean>;
  openPart?: OpenPart;
  freeBytes?: (dir: string) => Promise<number>;
  /** Kept free on the disk beyond what the downloads need. */
  diskReserveBytes?: number;
  progressIntervalMs?: number;
  maxRetries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
  /** Inline weight bytes from which a downloaded ONNX file's weights move into a data file; tests lower it. */
  externalizeMinBytes?: number;
}

export type DownloadListener = (event: DownloadEvent) => void;

interface PlannedFile {
  path: string;
  size: number;
  sha256: string | null;
  gitOid: string | null;
  /** Decided when the download is planned, before `sha256` is filled in from the bytes. */
  check: FileCheck;
  verified: boolean;
}

const stateFileSchema = z.object({
  format: z.literal(1),
  id: z.string().regex(MODEL_ID_PATTERN),
  name: z.string(),
  description: z.string(),
  spec: z.unknown(),
  host: z.string(),
  repo: z.string(),
  revision: z.string(),
  commit: z.string().nullable(),
  dtype: dtypeSchema,
  catalogId: z.string().nullable(),
  license: z.string().nullable(),
  contextLength: z.number().int().positive().nullable(),
  state: z.enum(['queued', 'downloading', 'verifying', 'paused', 'failed']),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  files: z.array(
    z.object({
      path: z.string(),
      size: z.number().int().nonnegative(),
      sha256: z.string().nullable(),
      gitOid: z.string().nullable(),
      // Absent in state files written before it was kept.
      check: z.enum(['sha256', 'git-blob', 'size']).optional(),
      verified: z.boolean(),
    }),
  ),
  createdAt: z.string(),
  updatedAt: z.string(),
});

interface Download {
  info: DownloadInfo;
  files: PlannedFile[];
  description: string;
  catalogId: string | null;
  license: string | null;
  contextLength: number | null;
  dir: string;
  controller: AbortController | null;
  task: Promise<void> | null;
  stopReason: 'pause' | 'cancel' | 'close' | null;
  hashes: Map<string, PartHash>;
  meter: RateMeter;
  fileMeter: RateMeter;
  lastProgressAt: number;
}

/** What a download holds only while this process runs it: never persisted. */
type DownloadRuntime = Pick<Download, 'controller' | 'task' | 'stopReason' | 'hashes' | 'meter' | 'fileMeter' | 'lastProgressAt'>;

function freshRuntime(): DownloadRuntime {
  return { controller: null, task: null, stopReason: null, hashes: new Map(), meter: new RateMeter(), fileMeter: new RateMeter(), lastProgressAt: 0 };
}

const DEFAULT_RESERVE = 64 * 1024 * 1024;

function invalidSpec(message: string): DownloadError {
  return new DownloadError('invalid_spec', message);
}

/** Checks the shape of a spec from the UI; returns a clean copy. */
export function validateSpec(spec: unknown): DownloadSpec {
  if (!spec || typeof spec !== 'object') throw invalidSpec('A download needs a spec: { source: "catalog", catalogId, dtype } or { source: "hub", repo, dtype }');
  const s = spec as Record<string, unknown>;
  if (!isDtype(s['dtype'])) throw invalidSpec(`"${String(s['dtype'])}" is not a dtype (expected one of ${dtypeSchema.options.join(', ')})`);
  const dtype = s['dtype'];
  if (s['source'] === 'catalog') {
    if (typeof s['catalogId'] !== 'string' || !s['catalogId']) throw invalidSpec('A catalog download needs a catalogId');
    return { source: 'catalog', catalogId: s['catalogId'], dtype };
  }
  if (s['source'] === 'hub') {
    if (typeof s['repo'] !== 'string') throw invalidSpec('A hub download needs a repo id (owner/name)');
    const repo = validateRepoId(s['repo']);
    const revision = s['revision'] === undefined ? 'main' : typeof s['revision'] === 'string' ? validateRevision(s['revision']) : (() => {
      throw invalidSpec('revision must be a string');
    })();
    const name = s['name'];
    if (name !== undefined && (typeof name !== 'string' || name.trim().length === 0 || name.length > 200)) throw invalidSpec('name must be 1 to 200 characters');
    return { source: 'hub', repo, revision, dtype, ...(typeof name === 'string' ? { name: name.trim() } : {}) };
  }
  throw invalidSpec(`Unknown download source "${String(s['source'])}" (expected "catalog" or "hub")`);
}

export class DownloadManager {
  private readonly downloads = new Map<string, Download>();
  private readonly pending = new Set<string>();
  private readonly listeners = new Set<DownloadListener>();
  private readonly http: HttpGet;
  private readonly maxConcurrent: number;
  private readonly openPart: OpenPart;
  private readonly freeBytes: (dir: string) => Promise<number>;
  private readonly reserve: number;
  private readonly progressIntervalMs: number;
  private restored: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: DownloadManagerOptions) {
    this.http = options.get ?? nodeHttpGet();
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? 2);
    this.openPart = options.openPart ?? openPartFile;
    this.freeBytes = options.freeBytes ?? freeDiskBytes;
    this.reserve = options.diskReserveBytes ?? DEFAULT_RESERVE;
    this.progressIntervalMs = options.progressIntervalMs ?? 250;
  }

  /** The hub host downloads started now would use. */
  hubHost(): string {
    const setting = typeof this.options.hubHost === 'function' ? this.options.hubHost() : this.options.hubHost;
    return resolveHubHost(setting, this.options.env ?? process.env);
  }

  on(listener: DownloadListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Downloads known to this session and those found on disk, oldest first. */
  list(): DownloadInfo[] {
    return [...this.downloads.values()].map((d) => this.snapshot(d)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get(id: string): DownloadInfo {
    return this.snapshot(this.require(id));
  }

  /**
   * Finds downloads an earlier run left on disk; they come back paused (`interrupted` when
   * they were running). Local only: no request is made. Finishes an install cut between its
   * last file and the rename.
   */
  restore(): Promise<void> {
    this.restored ??= this.restoreNow();
    return this.restored;
  }

  /** What a hub repository offers, for "add by repo id": asks the hub (a user action). */
  async inspect(repo: string, revision = 'main', signal?: AbortSignal): Promise<RepoInspection> {
    const host = this.hubHost();
    const id = validateRepoId(repo);
    const rev = validateRevision(revision);
    const { info, config } = await this.fetchPlanInputs(host, id, rev, signal);
    return { host, repo: id, revision: rev, commit: info.commit, license: info.license, ...planRepo(info, config) };
  }

  /**
   * Plans a download (asking the hub for its file list), checks disk space, and queues it.
   * Rejects with a DownloadError for a bad spec, an unknown repo or file (not_found), a
   * model the engine cannot run (invalid_model), too little disk space (disk_full), or an
   * id already installed or downloading.
   */
  async start(specInput: DownloadSpec): Promise<DownloadInfo> {
    this.assertOpen();
    await this.restore();
    const spec = validateSpec(specInput);
    const host = this.hubHost();
    let repo: string;
    let revision: string;
    let name: string;
    let description: string;
    let modelId: string;
    let catalogId: string | null = null;
    let catalogLicense: string | null = null;
    const catalogFiles = new Map<string, { size: number | null; sizeVerified: boolean; sha256: string | null }>();
    if (spec.source === 'catalog') {
      const source = this.options.catalog;
      const catalog = typeof source === 'function' ? await source() : source;
      if (!catalog) throw invalidSpec('No model catalog is loaded');
      const entry = findCatalogEntry(catalog, spec.catalogId);
      const variant = entry.variants.find((v) => v.dtype === spec.dtype);
      if (!variant) throw invalidSpec(`${entry.name} has no ${spec.dtype} variant in the catalog (it has ${entry.variants.map((v) => v.dtype).join(', ')})`);
      for (const f of variant.files) catalogFiles.set(f.path, f);
      ({ repo, revision } = entry);
      name = `${entry.name} (${spec.dtype})`;
      description = entry.description;
      modelId = slugModelId(catalogModelId(entry.id, spec.dtype));
      catalogId = entry.id;
      catalogLicense = entry.license;
    } else {
      repo = spec.repo;
      revision = spec.revision ?? 'main';
      name = spec.name ?? `${repo.split('/')[1]} (${spec.dtype})`;
      description = `${repo} from the Hugging Face hub`;
      modelId = slugModelId(`${repo.replace('/', '-')}-${spec.dtype}`);
    }

    if (this.downloads.has(modelId) || this.pending.has(modelId)) {
      const existing = this.downloads.get(modelId);
      if (existing?.info.state === 'installed') throw new DownloadError('already_installed', `${name} is already installed (${modelId})`);
      throw new DownloadError('already_downloading', `${name} is already being downloaded`);
    }
    if (await this.isIdTaken(modelId)) throw new DownloadError('already_installed', `${name} is already installed (${modelId}); remove it first to download it again`);
    this.pending.add(modelId);
    try {
      const { info, config } = await this.fetchPlanInputs(host, repo, revision);
      const plan = planRepo(info, config);
      const variant = plan.dtypes.find((d) => d.dtype === spec.dtype);
      if (!variant) {
        const unusable = plan.unusable.find((u) => u.dtype === spec.dtype);
        const has = plan.dtypes.map((d) => d.dtype).join(', ') || 'none';
        throw new DownloadError('invalid_model', unusable ? `${repo} ${spec.dtype} cannot be used: ${unusable.reason}` : `${repo} has no ${spec.dtype} weights (usable dtypes: ${has})`);
      }
      for (const [file, expected] of catalogFiles) {
        const hub = info.files.get(file);
        if (!hub) throw new DownloadError('verify_failed', `The catalog lists ${file} for ${name}, but ${host} does not have it at ${revision}`);
        if (expected.sha256 && hub.sha256 && expected.sha256 !== hub.sha256) {
          throw new DownloadError('verify_failed', `${file}: the catalog's sha256 (${expected.sha256}) differs from the hub's (${hub.sha256}); the catalog needs an update`);
        }
        if (expected.sizeVerified && expected.size !== hub.size) {
          throw new DownloadError('verify_failed', `${file}: the catalog says ${expected.size} bytes, the hub ${hub.size}; the catalog needs an update`);
        }
      }
      const files: PlannedFile[] = variant.files.map((f) => {
        const hub = info.files.get(f.path)!;
        const sha256 = f.sha256 ?? catalogFiles.get(f.path)?.sha256 ?? null;
        return { path: f.path, size: f.size, sha256, gitOid: hub.gitOid, check: fileCheck({ sha256, gitOid: hub.gitOid }), verified: false };
      });
      const now = new Date().toISOString();
      const download: Download = {
        info: {
          id: modelId,
          modelId,
          name,
          spec,
          host,
          repo,
          revision,
          commit: info.commit,
          dtype: spec.dtype,
          state: 'queued',
          files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, check: f.check, bytesDone: 0, state: 'pending' })),
          bytesDone: 0,
          bytesTotal: files.reduce((sum, f) => sum + f.size, 0),
          error: null,
          interrupted: false,
          createdAt: now,
          updatedAt: now,
        },
        files,
        description,
        catalogId,
        license: info.license ?? catalogLicense,
        contextLength: plan.contextLength,
        dir: path.join(this.options.modelsDir, DOWNLOADS_DIR, modelId),
        ...freshRuntime(),
      };
      await this.ensureSpace(download);
      await mkdir(download.dir, { recursive: true });
      await this.persist(download);
      this.downloads.set(modelId, download);
      this.emit({ type: 'added', download: this.snapshot(download) });
      this.pump();
      return this.snapshot(download);
    } finally {
      this.pending.delete(modelId);
    }
  }

  /** Stops a download, keeping its parts; `resume` continues from them. */
  async pause(id: string): Promise<DownloadInfo> {
    const download = this.require(id);
    const { state } = download.info;
    if (state === 'queued') {
      await this.setState(download, 'paused');
    } else if (state === 'downloading' || state === 'verifying') {
      download.stopReason = 'pause';
      download.controller?.abort();
      await download.task;
    } else if (state !== 'paused') {
      throw new DownloadError('invalid_spec', `${download.info.name} is ${state}; only a queued or running download can be paused`);
    }
    return this.snapshot(download);
  }

  /** Continues a paused, interrupted or failed download from its parts (checks disk space again). */
  async resume(id: string): Promise<DownloadInfo> {
    this.assertOpen();
    const download = this.require(id);
    const { state } = download.info;
    if (state === 'queued' || state === 'downloading' || state === 'verifying') return this.snapshot(download);
    if (state === 'installed') throw new DownloadError('already_installed', `${download.info.name} is already installed`);
    await this.refreshBytesFromDisk(download);
    await this.ensureSpace(download);
    download.info.error = null;
    download.info.interrupted = false;
    await this.setState(download, 'queued');
    this.pump();
    return this.snapshot(download);
  }

  /** Resumes every download an app restart interrupted. */
  async resumeInterrupted(): Promise<DownloadInfo[]> {
    await this.restore();
    const resumed: DownloadInfo[] = [];
    for (const download of this.downloads.values()) {
      if (download.info.interrupted && download.info.state === 'paused') resumed.push(await this.resume(download.info.id));
    }
    return resumed;
  }

  /** Stops a download and deletes everything it wrote (its parts and verified files). */
  async cancel(id: string): Promise<void> {
    const download = this.require(id);
    if (download.info.state === 'installed') {
      throw new DownloadError('already_installed', `${download.info.name} is installed; delete it from the model list instead`);
    }
    download.stopReason = 'cancel';
    download.controller?.abort();
    await download.task;
    await rm(download.dir, { recursive: true, force: true });
    this.downloads.delete(id);
    this.emit({ type: 'removed', id });
    this.pump();
  }

  /** Stops every transfer, keeping parts and state (the next run finds them interrupted). */
  async close(): Promise<void> {
    this.closed = true;
    const tasks: Promise<void>[] = [];
    for (const download of this.downloads.values()) {
      if (download.task) {
        download.stopReason = 'close';
        download.controller?.abort();
        tasks.push(download.task);
      }
    }
    await Promise.all(tasks);
  }

  // ---- internals ----

  private assertOpen(): void {
    if (this.closed) throw new DownloadError('invalid_spec', 'The download manager is closed');
  }

  private require(id: string): Download {
    const download = this.downloads.get(id);
    if (!download) throw new DownloadError('unknown_download', `No download has the id ${id}`);
    return download;
  }

  private async isIdTaken(id: string): Promise<boolean> {
    if (this.options.isIdTaken) return this.options.isIdTaken(id);
    return (await stat(path.join(this.options.modelsDir, id)).catch(() => null)) !== null;
  }

  private async fetchPlanInputs(host: string, repo: string, revision: string, signal?: AbortSignal): Promise<{ info: RepoInfo; config: HubConfig }> {
    const info = await fetchRepoInfo(this.http, host, repo, revision, signal);
    checkRepoBasics(info, null);
    for (const file of info.files.keys()) {
      if (file.startsWith('onnx/') || file.endsWith('.json')) validateRepoPath(file);
    }
    const raw = await fetchRepoFile(this.http, host, repo, info.commit ?? revision, 'config.json', signal);
    let config: HubConfig;
    try {
      config = JSON.parse(raw.toString('utf8')) as HubConfig;
      if (!config || typeof config !== 'object' || Array.isArray(config)) throw new Error('not an object');
    } catch (error) {
      throw new DownloadError('invalid_model', `${repo}: config.json is not valid JSON (${(error as Error).message})`);
    }
    checkRepoBasics(info, config);
    return { info, config };
  }

  private remaining(download: Download): number {
    return download.files.reduce((sum, f) => sum + (f.verified ? 0 : Math.max(0, f.size - (download.info.files.find((x) => x.path === f.path)?.bytesDone ?? 0))), 0);
  }

  private async ensureSpace(download: Download): Promise<void> {
    await mkdir(this.options.modelsDir, { recursive: true });
    let needed = this.remaining(download);
    for (const other of this.downloads.values()) {
      if (other !== download && ['queued', 'downloading'].includes(other.info.state)) needed += this.remaining(other);
    }
    const free = await this.freeBytes(this.options.modelsDir);
    if (free < needed + this.reserve) {
      throw new DownloadError(
        'disk_full',
        `Not enough disk space for ${download.info.name}: it needs ${formatByteSize(needed)} more${this.reserve > 0 ? ` (and ${formatByteSize(this.reserve)} kept free)` : ''}, but only ${formatByteSize(free)} is free at ${this.options.modelsDir}`,
      );
    }
  }

  private pump(): void {
    if (this.closed) return;
    let running = [...this.downloads.values()].filter((d) => d.task !== null).length;
    for (const download of this.downloads.values()) {
      if (running >= this.maxConcurrent) break;
      if (download.info.state !== 'queued' || download.task) continue;
      running++;
      download.stopReason = null;
      download.controller = new AbortController();
      download.task = this.run(download).finally(() => {
        download.task = null;
        download.controller = null;
        this.pump();
      });
    }
  }

  private async run(download: Download): Promise<void> {
    const signal = download.controller!.signal;
    try {
      await this.setState(download, 'downloading');
      download.meter.reset();
      for (const file of download.files) {
        if (file.verified) continue;
        const view = download.info.files.find((f) => f.path === file.path)!;
        const finalPath = path.join(download.dir, ...file.path.split('/'));
        await mkdir(path.dirname(finalPath), { recursive: true });
        view.state = 'downloading';
        download.fileMeter.reset();
        const hashState = download.hashes.get(file.path) ?? newPartHash();
        download.hashes.set(file.path, hashState);
        const result = await transferFile(
          {
            name: file.path,
            url: resolveUrl(download.info.host, download.info.repo, download.info.commit ?? download.info.revision, file.path),
            partPath: finalPath + PART_SUFFIX,
            finalPath,
            size: file.size,
            sha256: file.sha256,
            gitOid: file.gitOid,
          },
          {
            get: this.http,
            signal,
            openPart: this.openPart,
            partHash: hashState,
            ...(this.options.maxRetries !== undefined ? { maxRetries: this.options.maxRetries } : {}),
            ...(this.options.retryDelayMs !== undefined ? { retryDelayMs: this.options.retryDelayMs } : {}),
            ...(this.options.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.options.idleTimeoutMs } : {}),
            onBytes: (bytes) => this.onBytes(download, view, bytes),
            onRestart: (reason) => this.emit({ type: 'file-restarted', id: download.info.id, path: file.path, reason }),
          },
        );
        download.hashes.delete(file.path);
        file.verified = true;
        file.sha256 = result.sha256;
        view.state = 'verified';
        view.sha256 = result.sha256;
        view.bytesDone = result.size;
        this.onBytes(download, view, result.size, true);
        await this.persist(download);
        this.emit({ type: 'file-verified', id: download.info.id, path: file.path, size: result.size, sha256: result.sha256 });
      }
      await this.setState(download, 'verifying');
      try {
        await verifyModelDtype(download.dir, download.info.dtype);
      } catch (error) {
        const message = error instanceof ModelHostError ? error.message : String(error);
        throw new DownloadError('invalid_model', `Every file downloaded and matched the hub, but the engine could not use the model: ${message}`);
      }
      await this.install(download, await this.rewriteForEngine(download));
      this.emit({ type: 'installed', id: download.info.id, modelId: download.info.modelId });
      await this.setState(download, 'installed', false);
    } catch (error) {
      const reason = download.stopReason;
      if (reason === 'cancel') return;
      if (reason === 'close') return;
      if (reason === 'pause' && (isAbort(error) || signal.aborted)) {
        await this.setState(download, 'paused');
        return;
      }
      const failure =
        error instanceof DownloadError ? error : new DownloadError('io_error', `${download.info.name}: ${error instanceof Error ? error.message : String(error)}`);
      download.info.error = { code: failure.code, message: failure.message };
      for (const view of download.info.files) if (view.state === 'downloading') view.state = 'pending';
      await this.refreshBytesFromDisk(download).catch(() => undefined);
      await this.setState(download, 'failed');
    }
  }

  private onBytes(download: Download, view: DownloadFile, bytes: number, force = false): void {
    view.bytesDone = bytes;
    download.info.bytesDone = download.info.files.reduce((sum, f) => sum + f.bytesDone, 0);
    download.meter.record(download.info.bytesDone);
    download.fileMeter.record(bytes);
    const now = performance.now();
    if (!force && now - download.lastProgressAt < this.progressIntervalMs) return;
    download.lastProgressAt = now;
    const total = download.info.bytesTotal;
    this.emit({
      type: 'progress',
      id: download.info.id,
      file: {
        path: view.path,
        bytes,
        total: view.size,
        speed: download.fileMeter.speed(),
        etaSeconds: download.fileMeter.eta(view.size === null ? null : view.size - bytes),
      },
      total: {
        bytes: download.info.bytesDone,
        total,
        speed: download.meter.speed(),
        etaSeconds: download.meter.eta(total === null ? null : total - download.info.bytesDone),
      },
    });
  }

  /**
   * Rewrites the downloaded ONNX file as import does (onnx-rewrite.ts) and returns the files to
   * install. Best effort: a file that cannot be rewritten (a full disk) is installed as downloaded.
   */
  private async rewriteForEngine(download: Download): Promise<InstalledFile[]> {
    const files = download.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }));
    const onnx = onnxFilePath(download.info.dtype);
    const file = path.join(download.dir, ...onnx.split('/'));
    // A data file of that name is already part of the model: the weights stay where they are.
    const minInlineBytes = files.some((f) => f.path === `${onnx}_data`) ? Infinity : this.options.externalizeMinBytes;
    const written = await rewriteOnnxForEngine(file, file, minInlineBytes === undefined ? {} : { minInlineBytes }).catch(() => null);
    if (!written) return files;
    const rewritten = rewrittenFiles(written, onnx);
    return [...files.filter((f) => !rewritten.some((r) => r.path === f.path)), ...rewritten];
  }

  private async install(download: Download, files: InstalledFile[]): Promise<void> {
    // A pause or cancel that arrived while verifying wins over installing.
    if (download.stopReason) {
      const error = new Error('stopped before installing');
      error.name = 'AbortError';
      throw error;
    }
    const manifest: InstalledManifest = {
      format: 1,
      id: download.info.modelId,
      name: download.info.name,
      description: download.description,
      dtypes: [download.info.dtype],
      contextLength: download.contextLength,
      license: download.license,
      origin: {
        kind: 'downloaded',
        host: download.info.host,
        repo: download.info.repo,
        revision: download.info.revision,
        commit: download.info.commit,
        catalogId: download.catalogId,
      },
      files,
      installedAt: new Date().toISOString(),
    };
    await writeJsonAtomic(path.join(download.dir, MANIFEST_FILE), manifest);
    await rm(path.join(download.dir, DOWNLOAD_STATE_FILE), { force: true });
    await this.moveIntoPlace(download.dir, download.info.modelId);
  }

  private async moveIntoPlace(stagingDir: string, modelId: string): Promise<void> {
    const target = path.join(this.options.modelsDir, modelId);
    if (await stat(target).catch(() => null)) {
      throw new DownloadError('already_installed', `A model folder ${target} appeared while downloading; the download is kept in ${stagingDir}`);
    }
    await rename(stagingDir, target);
    await syncDir(this.options.modelsDir);
  }

  private async refreshBytesFromDisk(download: Download): Promise<void> {
    for (const file of download.files) {
      const view = download.info.files.find((f) => f.path === file.path)!;
      const finalPath = path.join(download.dir, ...file.path.split('/'));
      if (file.verified) {
        const info = await stat(finalPath).catch(() => null);
        if (info?.size === file.size) {
          view.bytesDone = file.size;
          view.state = 'verified';
          continue;
        }
        file.verified = false;
      }
      view.state = 'pending';
      view.bytesDone = Math.min(file.size, (await stat(finalPath + PART_SUFFIX).catch(() => null))?.size ?? 0);
    }
    download.info.bytesDone = download.info.files.reduce((sum, f) => sum + f.bytesDone, 0);
  }

  private async setState(download: Download, state: DownloadState, persist = true): Promise<void> {
    download.info.state = state;
    download.info.updatedAt = new Date().toISOString();
    try {
      if (persist) await this.persist(download);
    } catch (error) {
      // Recording a stop must not fail the stop (a full disk cannot take the state file);
      // the next run then finds the download as it was last saved.
      if (state !== 'failed' && state !== 'paused') throw error;
    } finally {
      this.emit({ type: 'state', download: this.snapshot(download) });
    }
  }

  private async persist(download: Download): Promise<void> {
    const { info } = download;
    if (info.state === 'installed') return;
    const state: z.infer<typeof stateFileSchema> = {
      format: 1,
      id: info.id,
      name: info.name,
      description: download.description,
      spec: info.spec,
      host: info.host,
      repo: info.repo,
      revision: info.revision,
      commit: info.commit,
      dtype: info.dtype,
      catalogId: download.catalogId,
      license: download.license,
      contextLength: download.contextLength,
      state: info.state,
      error: info.error,
      files: download.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, gitOid: f.gitOid, check: f.check, verified: f.verified })),
      createdAt: info.createdAt,
      updatedAt: info.updatedAt,
    };
    await writeJsonAtomic(path.join(download.dir, DOWNLOAD_STATE_FILE), state);
  }

  private async restoreNow(): Promise<void> {
    const root = path.join(this.options.modelsDir, DOWNLOADS_DIR);
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory() || !MODEL_ID_PATTERN.test(entry.name) || this.downloads.has(entry.name)) continue;
      const dir = path.join(root, entry.name);
      const text = await readFile(path.join(dir, DOWNLOAD_STATE_FILE), 'utf8').catch(() => null);
      if (text === null) {
        // Cut between writing jielong.json and the rename: finish the install.
        const check = await checkInstalledFolder(dir);
        if (check.ok && !(await this.isIdTaken(entry.name))) await this.moveIntoPlace(dir, entry.name).catch(() => undefined);
        continue;
      }
      let saved: z.infer<typeof stateFileSchema>;
      try {
        saved = stateFileSchema.parse(JSON.parse(text));
        if (saved.id !== entry.name) throw new Error('id does not match its folder');
        for (const f of saved.files) validateRepoPath(f.path);
      } catch {
        continue; // Not ours to interpret; left alone for a person to look at.
      }
      const interrupted = ['queued', 'downloading', 'verifying'].includes(saved.state);
      const download: Download = {
        info: {
          id: saved.id,
          modelId: saved.id,
          name: saved.name,
          spec: saved.spec as DownloadSpec,
          host: saved.host,
          repo: saved.repo,
          revision: saved.revision,
          commit: saved.commit,
          dtype: saved.dtype,
          state: interrupted ? 'paused' : saved.state,
          files: saved.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, check: f.check ?? fileCheck(f), bytesDone: 0, state: f.verified ? 'verified' : 'pending' })),
          bytesDone: 0,
          bytesTotal: saved.files.reduce((sum, f) => sum + f.size, 0),
          error: saved.error as DownloadInfo['error'],
          interrupted,
          createdAt: saved.createdAt,
          updatedAt: saved.updatedAt,
        },
        files: saved.files.map((f) => ({ ...f, check: f.check ?? fileCheck(f) })),
        description: saved.description,
        catalogId: saved.catalogId,
        license: saved.license,
        contextLength: saved.contextLength,
        dir,
        ...freshRuntime(),
      };
      await this.refreshBytesFromDisk(download);
      this.downloads.set(saved.id, download);
    }
  }

  private snapshot(download: Download): DownloadInfo {
    return structuredClone(download.info);
  }

  private emit(event: DownloadEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A broken listener must not stop a download.
      }
    }
  }
}

