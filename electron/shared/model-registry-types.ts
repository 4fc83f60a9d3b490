// The plain data of models on disk, downloads and the catalog: what the UI sees. Types only,
// no runtime imports beyond electron/shared, so the contract layer can map them one to one.
import type { ModelSummary } from './chat-types.ts';
import type { ModelDtype } from './model-host-protocol.ts';
import type { DownloadErrorCode } from './user-errors.ts';

// ---- catalog ----

export interface CatalogFile {
  /** Path in the repository, `/`-separated. */
  path: string;
  /** Bytes: exact when `sizeVerified`, else the hub page's rounded figure; null when no public source showed it. */
  size: number | null;
  sizeVerified: boolean;
  /** The LFS sha256 as a public source shows it; null when not verified. */
  sha256: string | null;
}

export interface CatalogVariant {
  dtype: ModelDtype;
  /** The files the engine needs, as far as public sources show them; the hub's list at download time is authoritative. */
  files: CatalogFile[];
  /** Sum of the file sizes; null when a size is unknown. */
  downloadBytes: number | null;
  /** Estimated resident memory to run this variant on CPU (resources/catalog/README.md); null when the weights' size is unknown. */
  ramEstimateBytes: number | null;
}

export interface CatalogEntry {
  /** Stable id in the catalog, e.g. `qwen2.5-0.5b-instruct`. */
  id: string;
  name: string;
  description: string;
  /** Hugging Face repository, `owner/name`. */
  repo: string;
  /** A commit sha where a public source showed one, else a branch name. */
  revision: string;
  license: string;
  /** max_position_embeddings of config.json; null when not verified. */
  contextLength: number | null;
  parameters: string;
  variants: CatalogVariant[];
  /** Where each fact came from, and what could not be checked. */
  sources: string[];
  unverified: string[];
  /**
   * The `npm run make:model -- --mirror` preset that stands in for this repository in tests:
   * same architecture, graph style, file names and external data, random weights.
   */
  mirror?: string;
}

export interface Catalog {
  schemaVersion: 1;
  /** Bumped whenever an entry changes. */
  catalogVersion: string;
  updated: string;
  /** The one small model the first-run screen offers beside the bundled demo. */
  recommended: { catalogId: string; dtype: ModelDtype } | null;
  entries: CatalogEntry[];
}

// ---- installed models ----

export type ModelOrigin =
  | { kind: 'bundled' }
  | { kind: 'downloaded'; host: string; repo: string; revision: string; commit: string | null; catalogId: string | null }
  | { kind: 'imported'; from: string };

export interface InstalledFile {
  path: string;
  size: number;
  /** Computed while the file was written (download or import); null for bundled models. */
  sha256: string | null;
}

/** An installed model as the registry lists it: complete, every file in place. */
export interface InstalledModel extends ModelSummary {
  /** Absolute path of the model folder. */
  dir: string;
  /** Dtypes present, best first for a CPU (q4 before q8 before fp32, ...). */
  dtypes: ModelDtype[];
  /** Bytes on disk, every file of the folder. */
  sizeBytes: number;
  origin: ModelOrigin;
  files: InstalledFile[];
  license: string | null;
  installedAt: string | null;
  isDefault: boolean;
  /** Bundled models cannot be removed. */
  removable: boolean;
}

/** What a delete-confirmation dialog shows; `remove` needs `{ confirm: true }`. */
export interface RemovalPlan {
  id: string;
  name: string;
  dir: string;
  sizeBytes: number;
  isDefault: boolean;
}

export type RegistryEvent =
  | { type: 'installed'; model: InstalledModel }
  | { type: 'removed'; id: string }
  | { type: 'default-changed'; id: string | null };

export interface ImportProgress {
  file: string;
  bytes: number;
  totalBytes: number;
}

// ---- downloads ----

/** What to download: a catalog entry, or any hub repository by id (validated first). */
export type DownloadSpec =
  | { source: 'catalog'; catalogId: string; dtype: ModelDtype }
  | { source: 'hub'; repo: string; revision?: string; dtype: ModelDtype; name?: string };

export type DownloadState = 'queued' | 'downloading' | 'verifying' | 'paused' | 'failed' | 'installed';

export type { DownloadErrorCode };

/**
 * How a downloaded file is checked before it is moved into place, besides its size: `sha256`
 * against the hash the hub states for LFS files (or the catalog's), `git-blob` against the git
 * blob id the hub states for small files kept in git, and `size` when the hub (a mirror, say)
 * states neither: then only the byte count is checked.
 */
export type FileCheck = 'sha256' | 'git-blob' | 'size';

export interface DownloadFile {
  path: string;
  /** Bytes, as the hub states them; null until the file list is known. */
  size: number | null;
  /** As the hub states it (LFS files); null where it states none. */
  sha256: string | null;
  /** How the finished file is checked (see FileCheck). */
  check: FileCheck;
  /** Bytes on disk so far (the `.part` file, or the whole file once verified). */
  bytesDone: number;
  state: 'pending' | 'downloading' | 'verified';
}

export interface DownloadInfo {
  id: string;
  /** The registry id the model will have once installed. */
  modelId: string;
  name: string;
  spec: DownloadSpec;
  host: string;
  repo: string;
  revision: string;
  /** The commit the revision resolved to when the download started; every file comes from it. */
  commit: string | null;
  dtype: ModelDtype;
  state: DownloadState;
  files: DownloadFile[];
  bytesDone: number;
  /** Null until the file list is known. */
  bytesTotal: number | null;
  error: { code: DownloadErrorCode; message: string } | null;
  /** True when an app restart cut the download: it waits, paused, for `resume`. */
  interrupted: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface TransferFigures {
  bytes: number;
  total: number | null;
  /** Bytes per second over the last few seconds; 0 when stalled or not started. */
  speed: number;
  /** Seconds left at that speed; null when unknown. */
  etaSeconds: number | null;
}

export type DownloadEvent =
  | { type: 'added'; download: DownloadInfo }
  | { type: 'state'; download: DownloadInfo }
  | { type: 'progress'; id: string; file: TransferFigures & { path: string }; total: TransferFigures }
  | { type: 'file-verified'; id: string; path: string; size: number; sha256: string }
  | { type: 'file-restarted'; id: string; path: string; reason: string }
  | { type: 'installed'; id: string; modelId: string }
  | { type: 'removed'; id: string };

/** What "add by repo id" shows before anything is downloaded. */
export interface RepoInspection {
  host: string;
  repo: string;
  revision: string;
  commit: string | null;
  modelType: string | null;
  license: string | null;
  contextLength: number | null;
  /** Dtypes with every file the engine needs, with their download size. */
  dtypes: { dtype: ModelDtype; files: { path: string; size: number; sha256: string | null }[]; downloadBytes: number }[];
  /** Dtypes that cannot be used, and why (e.g. external data missing). */
  unusable: { dtype: ModelDtype; reason: string }[];
}
