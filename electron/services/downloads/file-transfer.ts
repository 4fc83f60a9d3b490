// One file from the hub onto disk: bytes go to `<file>.part`, resumed with an HTTP Range
// request from the part's size; a server that answers a resumed request with 200 (the whole
// file) restarts the part from zero. Network cuts are retried from where the part ends.
// When the part has every byte: its size and hash are checked against what the hub states,
// it is fsynced, renamed to its real name, and the folder is fsynced. The sha256 is computed
// as the bytes are written (a resume in the same process continues the same hash; after a
// restart the part is hashed once from disk).
import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gitBlobIdOfFile, hashFileInto } from '../../model-files/file-hash.ts';
import type { FileCheck } from '../../shared/model-registry-types.ts';
import { DownloadError, isAbort, isDiskFull } from './download-error.ts';
import { NetworkError, type HttpGet, type HttpResponse } from './http-transport.ts';

/** The part of a file handle the transfer writes through (a FileHandle fits; tests inject faults). */
export interface PartFile {
  writev(buffers: Buffer[], position: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export type OpenPart = (file: string, flags: 'w' | 'r+') => Promise<PartFile>;

export const openPartFile: OpenPart = (file, flags) => open(file, flags);

export interface FileTarget {
  /** Path in the repository, for messages. */
  name: string;
  url: string;
  partPath: string;
  finalPath: string;
  size: number;
  sha256: string | null;
  gitOid: string | null;
}

/** How transferFile checks a file's bytes: the sha256 if one is stated, else the git blob id, else the size alone. */
export function fileCheck(target: Pick<FileTarget, 'sha256' | 'gitOid'>): FileCheck {
  return target.sha256 ? 'sha256' : target.gitOid ? 'git-blob' : 'size';
}

/** The running hash of a part's bytes; kept by the caller so a resume in the same process reuses it. */
export interface PartHash {
  hash: Hash;
  bytes: number;
  valid: boolean;
}

export interface TransferOptions {
  get: HttpGet;
  signal: AbortSignal;
  openPart?: OpenPart;
  /** Failures in a row (no byte gained between them) before giving up. */
  maxRetries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
  partHash?: PartHash;
  /** Bytes now in the part, after every write. */
  onBytes?(bytesOnDisk: number): void;
  onRestart?(reason: string): void;
}

export interface TransferResult {
  size: number;
  sha256: string;
  /** Bytes received over the network in this call. */
  received: number;
  /** Time spent re-hashing an existing part before resuming, ms. */
  rehashMs: number;
}

export function newPartHash(): PartHash {
  return { hash: createHash('sha256'), bytes: 0, valid: true };
}

class PartWriter extends Writable {
  private inflight: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: PartFile,
    public position: number,
    private readonly state: PartHash,
    private readonly limit: number,
    private readonly target: FileTarget,
    private readonly onBytes: ((bytes: number) => void) | undefined,
  ) {
    super({ highWaterMark: 4 << 20 });
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    const total = buffers.reduce((sum, b) => sum + b.length, 0);
    if (this.position + total > this.limit) {
      callback(new DownloadError('verify_failed', `${this.target.name}: the server sent more than the ${this.limit} bytes the hub states`));
      return;
    }
    // The write runs on libuv's pool while this thread hashes the same bytes.
    const write = this.file.writev(buffers, this.position);
    for (const buffer of buffers) this.state.hash.update(buffer);
    this.inflight = write.then(
      ({ bytesWritten }) => {
        if (bytesWritten !== total) {
          // Only a full disk writes less than asked without an error.
          this.state.valid = false;
          const error = new Error(`short write: ${bytesWritten} of ${total} bytes`) as NodeJS.ErrnoException;
          error.code = 'ENOSPC';
          callback(error);
          return;
        }
        this.position += total;
        this.state.bytes += total;
        this.onBytes?.(this.position);
        callback();
      },
      (error: unknown) => {
        this.state.valid = false;
        callback(error as Error);
      },
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  /** Resolves once no write is in flight, so the part's size on disk matches `position`. */
  settled(): Promise<void> {
    return this.inflight.catch(() => undefined);
  }
}

function parseContentRange(value: string | undefined): { start: number; end: number; total: number | null } | null {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!match) return null;
  return { start: Number(match[1]), end: Number(match[2]), total: match[3] === '*' ? null : Number(match[3]) };
}

async function partSize(file: string): Promise<number> {
  return (await stat(file).catch(() => null))?.size ?? 0;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}

function statusFailure(target: FileTarget, response: HttpResponse): DownloadError {
  const { status } = response;
  if (status === 404) return new DownloadError('not_found', `${target.name} is not on the hub (HTTP 404 for ${target.url})`);
  if (status === 401 || status === 403) return new DownloadError('forbidden', `The hub refused ${target.name} (HTTP ${status}): the repository is private or gated`);
  return new DownloadError('http_error', `The hub answered HTTP ${status} for ${target.name}`);
}

/** Downloads one file to `target.finalPath`, resuming `target.partPath` if it exists. */
export async function transferFile(target: FileTarget, options: TransferOptions): Promise<TransferResult> {
  const openPart = options.openPart ?? openPartFile;
  const maxRetries = options.maxRetries ?? 6;
  const retryDelay = options.retryDelayMs ?? 500;
  let state = options.partHash ?? newPartHash();
  let failures = 0;
  let received = 0;
  let rehashMs = 0;
  let lastFailure: Error | null = null;

  let offset = await partSize(target.partPath);
  if (offset > target.size) {
    options.onRestart?.(`the partial file (${offset} bytes) was longer than the file (${target.size} bytes)`);
    await truncate(target.partPath, 0);
    offset = 0;
  }
  options.onBytes?.(offset);

  const restart = async (reason: string): Promise<void> => {
    options.onRestart?.(reason);
    await truncate(target.partPath, 0).catch(() => undefined);
    offset = 0;
    state = newPartHash();
    options.onBytes?.(0);
  };

  const retryOrThrow = async (error: Error): Promise<void> => {
    lastFailure = error;
    failures++;
    if (failures > maxRetries) {
      throw error instanceof DownloadError
        ? error
        : new DownloadError('network', `${target.name}: the connection kept failing (${failures} times in a row; last: ${error.message}); resume to try again`);
    }
    await delay(Math.min(retryDelay * 2 ** (failures - 1), 8000), options.signal);
  };

  while (offset < target.size) {
    let response: HttpResponse;
    try {
      response = await options.get(target.url, {
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        signal: options.signal,
        ...(options.idleTimeoutMs ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      });
    } catch (error) {
      if (isAbort(error) || options.signal.aborted) throw abortReason(options.signal);
      await retryOrThrow(error instanceof Error ? error : new Error(String(error)));
      continue;
    }

    const { status } = response;
    let start = 0;
    if (status === 206) {
      const range = parseContentRange(response.headers['content-range']);
      if (range && range.total !== null && range.total !== target.size) {
        response.body.destroy();
        throw new DownloadError('verify_failed', `${target.name}: the hub states ${target.size} bytes but serves ${range.total}: the file changed on the server`);
      }
      if (!range || range.start !== offset) {
        response.body.destroy();
        await restart(`the server answered the resume from byte ${offset} with ${range ? `bytes ${range.start}-${range.end}` : 'no usable Content-Range'}`);
        continue;
      }
      start = offset;
    } else if (status === 200) {
      const length = Number(response.headers['content-length'] ?? NaN);
      if (Number.isFinite(length) && length !== target.size) {
        response.body.destroy();
        throw new DownloadError('verify_failed', `${target.name}: the hub states ${target.size} bytes but serves ${length}: the file changed on the server`);
      }
      if (offset > 0) await restart(`the server ignored the resume request (HTTP 200 instead of 206) and sent the whole file again`);
    } else if (status === 416) {
      response.body.resume();
      await restart(`the server refused to resume from byte ${offset} (HTTP 416)`);
      await retryOrThrow(new DownloadError('http_error', `${target.name}: HTTP 416 for a resume`));
      continue;
    } else if (status === 429 || status >= 500) {
      response.body.resume();
      await retryOrThrow(new DownloadError('http_error', `The hub answered HTTP ${status} for ${target.name}; resume to try again`));
      continue;
    } else {
      response.body.resume();
      throw statusFailure(target, response);
    }

    // The running hash must cover exactly the bytes already in the part.
    if (!state.valid || state.bytes !== start) {
      const began = performance.now();
      state = newPartHash();
      state.bytes = await hashFileInto(state.hash, target.partPath, start);
      rehashMs += performance.now() - began;
      if (state.bytes !== start) {
        response.body.destroy();
        await restart('the partial file changed on disk while resuming');
        continue;
      }
    }

    let file: PartFile;
    try {
      file = await openPart(target.partPath, start === 0 ? 'w' : 'r+');
    } catch (error) {
      response.body.destroy();
      throw ioFailure(target, error);
    }
    const writer = new PartWriter(file, start, state, target.size, target, options.onBytes);
    let failure: unknown = null;
    try {
      await pipeline(response.body, writer);
    } catch (error) {
      failure = error;
    }
    await writer.settled();
    const gained = writer.position - start;
    received += gained;
    try {
      if (failure === null) await file.sync();
    } catch (error) {
      failure ??= error;
    } finally {
      await file.close().catch(() => undefined);
    }
    offset = writer.position;
    if (gained > 0) failures = 0;

    if (failure !== null) {
      if (isAbort(failure) || options.signal.aborted) throw abortReason(options.signal);
      if (failure instanceof DownloadError) throw failure;
      if (isDiskFull(failure)) throw ioFailure(target, failure);
      if (!(failure instanceof NetworkError) && isLocalIoError(failure)) throw ioFailure(target, failure);
      await retryOrThrow(failure instanceof Error ? failure : new Error(String(failure)));
      continue;
    }
    if (offset < target.size) await retryOrThrow(lastFailure ?? new NetworkError(`the server closed ${target.name} at byte ${offset} of ${target.size}`));
  }

  // Every byte is in the part: check it against what the hub states, then move it into place.
  const size = await partSize(target.partPath);
  if (size !== target.size) {
    await rm(target.partPath, { force: true });
    throw new DownloadError('verify_failed', `${target.name} has ${size} bytes, not the ${target.size} the hub states; the partial file was deleted`);
  }
  if (!state.valid || state.bytes !== size) {
    state = newPartHash();
    state.bytes = await hashFileInto(state.hash, target.partPath);
  }
  const sha256 = state.hash.copy().digest('hex');
  const check = fileCheck(target);
  if (check === 'sha256' && sha256 !== target.sha256) {
    await rm(target.partPath, { force: true });
    throw new DownloadError('verify_failed', `${target.name} is corrupt: its sha256 is ${sha256} but the hub states ${target.sha256}; the partial file was deleted, resume to download it again`);
  }
  if (check === 'git-blob') {
    const oid = await gitBlobIdOfFile(target.partPath);
    if (oid !== target.gitOid) {
      await rm(target.partPath, { force: true });
      throw new DownloadError('verify_failed', `${target.name} is corrupt: its git blob id is ${oid} but the hub states ${target.gitOid}; the partial file was deleted, resume to download it again`);
    }
  }
  try {
    await rename(target.partPath, target.finalPath);
    await syncDir(path.dirname(target.finalPath));
  } catch (error) {
    throw ioFailure(target, error);
  }
  return { size, sha256, received, rehashMs };
}

function isLocalIoError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return ['EIO', 'EROFS', 'EACCES', 'EPERM', 'EBADF', 'EFBIG', 'ENOSPC', 'EDQUOT'].includes(code ?? '');
}

export function ioFailure(target: { name: string; partPath: string }, error: unknown): DownloadError {
  if (error instanceof DownloadError) return error;
  const e = error as NodeJS.ErrnoException;
  if (isDiskFull(e)) {
    return new DownloadError('disk_full', `The disk is full: ${target.name} could not be written to ${path.dirname(target.partPath)}; free some space and resume (what was downloaded is kept)`);
  }
  return new DownloadError('io_error', `${target.name} could not be written to ${target.partPath}: ${e.message ?? String(error)}`);
}

/** fsync a folder so a rename in it survives a power cut (a no-op where folders cannot be opened). */
export async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot fsync a folder; the rename is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
