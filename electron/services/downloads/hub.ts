// The Hugging Face hub as the downloader sees it: which host (a setting, an environment
// variable, or huggingface.co, so mirrors work), the file URL layout
// `{host}/{repo}/resolve/{revision}/{file}`, and the model-info API
// `{host}/api/models/{repo}/revision/{revision}?blobs=true`, which gives the commit a branch
// points at and every file's size, with the sha256 of LFS files. No request is made here
// except by `fetchRepoInfo`/`fetchRepoFile`, which only run when the user asks.
import { z } from 'zod';
import { ALL_DTYPES, filesForDtype, OPTIONAL_MODEL_FILES } from '../../model-files/model-folder-inspect.ts';
import type { ModelDtype } from '../../shared/model-host-protocol.ts';
import { onnxFilePath, REQUIRED_MODEL_FILES } from '../../shared/model-layout.ts';
import type { RepoInspection } from '../../shared/model-registry-types.ts';
import { DownloadError } from './download-error.ts';
import { readBody, type HttpGet, NetworkError } from './http-transport.ts';

export const DEFAULT_HUB_HOST = 'https://huggingface.co';
/** Environment variables naming a hub mirror, ours first, then the one huggingface_hub reads. */
export const HUB_HOST_ENV = ['JIELONG_HUB_HOST', 'HF_ENDPOINT'] as const;

/** `https://host[/path]` without a trailing slash; throws a clear error for anything else. */
export function normalizeHubHost(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new DownloadError('invalid_spec', `The hub host "${value}" is not a URL (expected e.g. https://huggingface.co)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DownloadError('invalid_spec', `The hub host must be an http(s) URL, not ${url.protocol}`);
  if (url.username || url.password) throw new DownloadError('invalid_spec', 'The hub host must not carry a user name or password');
  if (url.search || url.hash) throw new DownloadError('invalid_spec', 'The hub host must not carry a query or a fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The setting wins, then JIELONG_HUB_HOST, then HF_ENDPOINT, then huggingface.co. */
export function resolveHubHost(setting: string | null | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (setting && setting.trim()) return normalizeHubHost(setting);
  for (const name of HUB_HOST_ENV) {
    const value = env[name];
    if (value && value.trim()) return normalizeHubHost(value);
  }
  return DEFAULT_HUB_HOST;
}

const REPO_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$/;

/** Checks an `owner/name` repository id the way the hub names them. */
export function validateRepoId(repo: string): string {
  const trimmed = repo.trim();
  const parts = trimmed.split('/');
  if (parts.length !== 2 || !parts.every((p) => REPO_PART.test(p)) || /--|\.\./.test(trimmed)) {
    throw new DownloadError('invalid_spec', `"${repo}" is not a Hugging Face repository id (expected owner/name, e.g. onnx-community/Qwen2.5-0.5B-Instruct)`);
  }
  return trimmed;
}

export function validateRevision(revision: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/.test(revision) || revision.includes('..') || revision.endsWith('/')) {
    throw new DownloadError('invalid_spec', `"${revision}" is not a branch, tag or commit name`);
  }
  return revision;
}

/** A repository file path: relative, `/`-separated, no `..` or empty segments. */
export function validateRepoPath(file: string): string {
  const segments = file.split('/');
  if (file.length === 0 || file.length > 1024 || file.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..') || file.includes('\0')) {
    throw new DownloadError('invalid_model', `The hub lists a file with an unsafe path: "${file}"`);
  }
  return file;
}

export function resolveUrl(host: string, repo: string, revision: string, file: string): string {
  return `${host}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

export function repoInfoUrl(host: string, repo: string, revision: string): string {
  return `${host}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
}

const repoInfoSchema = z.object({
  sha: z.string().regex(/^[0-9a-f]{40}$/).optional(),
  gated: z.union([z.boolean(), z.string()]).optional(),
  cardData: z.object({ license: z.unknown().optional() }).passthrough().nullish(),
  siblings: z.array(
    z
      .object({
        rfilename: z.string(),
        size: z.number().int().nonnegative().optional(),
        blobId: z.string().optional(),
        lfs: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().nonnegative() }).passthrough().nullish(),
      })
      .passthrough(),
  ),
});

export interface RepoFileInfo {
  path: string;
  size: number;
  /** LFS files: the sha256 the hub states. */
  sha256: string | null;
  /** Git blob id (small files kept in git). */
  gitOid: string | null;
}

export interface RepoInfo {
  host: string;
  repo: string;
  revision: string;
  commit: string | null;
  license: string | null;
  files: Map<string, RepoFileInfo>;
}

const INFO_LIMIT = 32 * 1024 * 1024;
const CONFIG_LIMIT = 4 * 1024 * 1024;

function describeNetwork(host: string, error: unknown): DownloadError {
  if (error instanceof DownloadError) return error;
  if (error instanceof Error && error.name === 'AbortError') return new DownloadError('cancelled', 'The request was cancelled');
  const detail = error instanceof Error ? error.message : String(error);
  return new DownloadError('network', `Could not reach the model hub at ${host}: ${detail}`);
}

function statusError(status: number, what: string, host: string, errorCode: string | undefined): DownloadError {
  // The hub answers 401 with RepoNotFound for a repository that does not exist (so as not to tell it from a private one).
  if (status === 404 || errorCode === 'RepoNotFound' || errorCode === 'RevisionNotFound' || errorCode === 'EntryNotFound') {
    if (errorCode === 'RepoNotFound') return new DownloadError('not_found', `Repository not found on ${host}: ${what} (it does not exist, or it is private)`);
    const kind = errorCode === 'RevisionNotFound' ? 'That revision does not exist' : errorCode === 'EntryNotFound' ? 'That file does not exist' : 'Not found';
    return new DownloadError('not_found', `${kind} on ${host}: ${what}`);
  }
  if (status === 401 || status === 403) {
    return new DownloadError('forbidden', `${host} refused access to ${what} (HTTP ${status}): the repository is private or gated; Jielong downloads public models only`);
  }
  return new DownloadError('http_error', `${host} answered HTTP ${status} for ${what}`);
}

/** The model-info API for a repository at a revision: its commit and every file with size and hash. */
export async function fetchRepoInfo(get: HttpGet, host: string, repo: string, revision: string, signal?: AbortSignal): Promise<RepoInfo> {
  const url = repoInfoUrl(host, repo, revision);
  let body: Buffer;
  try {
    const response = await get(url, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
    if (response.status !== 200) {
      response.body.resume();
      throw statusError(response.status, `${repo} at ${revision}`, host, response.headers['x-error-code']);
    }
    body = await readBody(response, INFO_LIMIT);
  } catch (error) {
    throw describeNetwork(host, error);
  }
  let parsed: z.infer<typeof repoInfoSchema>;
  try {
    parsed = repoInfoSchema.parse(JSON.parse(body.toString('utf8')));
  } catch (error) {
    throw new DownloadError('http_error', `${host} did not answer the model-info API for ${repo} as the hub does (${error instanceof Error ? error.message.slice(0, 200) : error})`);
  }
  if (parsed.gated && parsed.gated !== 'false') {
    throw new DownloadError('forbidden', `${repo} is gated on ${host}: it needs a signed-in account, and Jielong downloads public models only`);
  }
  const files = new Map<string, RepoFileInfo>();
  for (const s of parsed.siblings) {
    const size = s.lfs?.size ?? s.size;
    if (size === undefined) continue;
    files.set(s.rfilename, { path: s.rfilename, size, sha256: s.lfs?.sha256 ?? null, gitOid: s.lfs ? null : (s.blobId ?? null) });
  }
  const license = typeof parsed.cardData?.license === 'string' ? parsed.cardData.license : null;
  return { host, repo, revision, commit: parsed.sha ?? null, license, files };
}

/** A small file (config.json) read whole. */
export async function fetchRepoFile(get: HttpGet, host: string, repo: string, revision: string, file: string, signal?: AbortSignal): Promise<Buffer> {
  try {
    const response = await get(resolveUrl(host, repo, revision, file), signal ? { signal } : {});
    if (response.status !== 200) {
      response.body.resume();
      throw statusError(response.status, `${repo}/${file}`, host, response.headers['x-error-code']);
    }
    return await readBody(response, CONFIG_LIMIT);
  } catch (error) {
    if (error instanceof NetworkError || !(error instanceof DownloadError)) throw describeNetwork(host, error);
    throw error;
  }
}

export interface HubConfig {
  model_type?: unknown;
  architectures?: unknown;
  max_position_embeddings?: unknown;
  'transformers.js_config'?: { use_external_data_format?: unknown };
}

/** Which dtypes of a repository have every file the engine needs, from its file list and config.json. */
export function planRepo(info: RepoInfo, config: HubConfig): Omit<RepoInspection, 'host' | 'repo' | 'revision' | 'commit' | 'license'> {
  const modelType = typeof config.model_type === 'string' ? config.model_type : null;
  const max = config.max_position_embeddings;
  const contextLength = typeof max === 'number' && Number.isInteger(max) && max > 0 ? max : null;
  const dtypes: RepoInspection['dtypes'] = [];
  const unusable: RepoInspection['unusable'] = [];
  const present = OPTIONAL_MODEL_FILES.filter((f) => info.files.has(f));
  for (const dtype of ALL_DTYPES) {
    const onnx = onnxFilePath(dtype);
    if (!info.files.has(onnx)) continue;
    const needed = filesForDtype(config as Parameters<typeof filesForDtype>[0], dtype, present);
    // External data the hub lists next to the ONNX file is part of it, announced in config.json or not.
    for (const name of info.files.keys()) {
      if (name.startsWith(`${onnx}_data`) && /_data(_\d+)?$/.test(name) && !needed.includes(name)) needed.push(name);
    }
    const missing = needed.filter((f) => !info.files.has(f));
    if (missing.length > 0) {
      unusable.push({ dtype, reason: `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in the repository` });
      continue;
    }
    const files = needed.map((path) => {
      const f = info.files.get(validateRepoPath(path))!;
      return { path, size: f.size, sha256: f.sha256 };
    });
    dtypes.push({ dtype, files, downloadBytes: files.reduce((sum, f) => sum + f.size, 0) });
  }
  return { modelType, contextLength, dtypes, unusable };
}

/** Refuses a repository transformers.js cannot run as a chat model, with the reason. */
export function checkRepoBasics(info: RepoInfo, config: HubConfig | null): void {
  const missing = REQUIRED_MODEL_FILES.filter((f) => !info.files.has(f));
  if (missing.length > 0) {
    throw new DownloadError('invalid_model', `${info.repo} is not a transformers.js model: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`);
  }
  if (!config) return;
  if (typeof config.model_type !== 'string') throw new DownloadError('invalid_model', `${info.repo}: config.json has no model_type`);
  const architectures = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === 'string') : [];
  if (architectures.length > 0 && !architectures.some((a) => a.endsWith('ForCausalLM'))) {
    throw new DownloadError('invalid_model', `${info.repo} is a ${architectures.join(', ')}, not a text-generation (…ForCausalLM) model`);
  }
  if (!ALL_DTYPES.some((d) => info.files.has(onnxFilePath(d)))) {
    throw new DownloadError('invalid_model', `${info.repo} has no ONNX weights in onnx/ (transformers.js needs onnx/model*.onnx)`);
  }
}

export function isDtype(value: unknown): value is ModelDtype {
  return typeof value === 'string' && (ALL_DTYPES as readonly string[]).includes(value);
}
