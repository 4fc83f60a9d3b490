// A stand-in for the Hugging Face hub on 127.0.0.1, for tests and benches. It speaks the
// subset the downloader relies on, the way the hub does:
//   GET /api/models/{repo}/revision/{rev}?blobs=true  -> { sha, siblings: [{ rfilename, size, blobId, lfs: { sha256, size } }] }
//   GET|HEAD /{repo}/resolve/{rev}/{file}             -> small files directly (ETag = git blob id);
//        LFS files (.onnx, .onnx_data*) by a 302 to a CDN path with X-Linked-ETag / X-Linked-Size
//   GET /_cdn/{sha256}                                 -> the bytes, with single-range Range support (206, 416)
//   unknown repo: 401 + X-Error-Code: RepoNotFound; unknown revision or file: 404 + RevisionNotFound / EntryNotFound
// Faults can be injected per request: a connection cut after N bytes, a 200 answer to a
// Range request, a flipped byte, a status code, a stall; and a throughput limit. Every request
// and connection is counted.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';

export interface HubFile {
  path: string;
  size: number;
  sha256: string;
  gitOid: string;
  lfs: boolean;
  /** False for a file the model-info API states no hash for (no sha256, no blob id), as some mirrors do. */
  hashStated?: boolean;
  /** Where the bytes are: on disk, or in memory. */
  diskPath?: string;
  data?: Buffer;
}

export interface HubRepo {
  repo: string;
  /** Branch or tag -> commit. */
  refs: Map<string, string>;
  commit: string;
  files: Map<string, HubFile>;
  license: string | null;
  gated: boolean;
}

export type HubFaultKind =
  | { kind: 'cut'; afterBytes: number }
  | { kind: 'ignore-range' }
  | { kind: 'corrupt'; offset: number }
  | { kind: 'status'; status: number }
  | { kind: 'stall'; afterBytes: number };

export type HubFault = HubFaultKind & {
  /** Which requests: a repo file path (or pattern) for content, 'api' for the model-info API. Default: any content request. */
  match?: string | RegExp | 'api';
  /** How many matching requests it applies to; default 1. */
  times?: number;
};

export interface HubRequestLog {
  method: string;
  url: string;
  kind: 'api' | 'resolve' | 'cdn' | 'other';
  file: string | null;
  range: string | null;
  status: number;
  bytesSent: number;
  fault: string | null;
}

export interface HubServerOptions {
  /** Send LFS files through a redirect to /_cdn/ as the hub does; default true. */
  redirectLfs?: boolean;
  /** Bytes per write when faults or throttling are active. */
  chunkBytes?: number;
}

const LFS_PATTERN = /\.onnx(_data(_\d+)?)?$/;

function gitBlobId(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

async function hashDiskFile(file: string): Promise<{ sha256: string; gitOid: string; size: number }> {
  const { size } = await stat(file);
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    sha256.update(chunk);
    sha1.update(chunk);
  }
  return { sha256: sha256.digest('hex'), gitOid: sha1.digest('hex'), size };
}

function fakeCommit(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

export class HubServer {
  readonly repos = new Map<string, HubRepo>();
  readonly requests: HubRequestLog[] = [];
  connections = 0;
  private faults: (HubFault & { left: number })[] = [];
  private throttleBytesPerSecond: number | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly byHash = new Map<string, HubFile>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly options: Required<HubServerOptions>,
  ) {}

  static async start(options: HubServerOptions = {}): Promise<HubServer> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const hub = new HubServer(server, `http://127.0.0.1:${port}`, { redirectLfs: options.redirectLfs ?? true, chunkBytes: options.chunkBytes ?? 16 * 1024 });
    server.on('connection', (socket) => {
      hub.connections++;
      hub.sockets.add(socket);
      socket.on('close', () => hub.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      hub.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
        else res.destroy();
      });
    });
    return hub;
  }

  /** Serves every file under `dir` as `repo` at `revision` (default main). */
  async addRepoFromFolder(
    repo: string,
    dir: string,
    options: { revision?: string; license?: string | null; gated?: boolean; exclude?: (file: string) => boolean; hashless?: (file: string) => boolean } = {},
  ): Promise<HubRepo> {
    const files = new Map<string, HubFile>();
    for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      const rel = path.relative(dir, full).split(path.sep).join('/');
      if (options.exclude?.(rel)) continue;
      const { sha256, gitOid, size } = await hashDiskFile(full);
      files.set(rel, { path: rel, size, sha256, gitOid, lfs: LFS_PATTERN.test(rel), hashStated: !options.hashless?.(rel), diskPath: full });
    }
    return this.addRepo(repo, files, options);
  }

  /** Serves in-memory files. */
  addRepoFiles(repo: string, contents: Record<string, Buffer | string>, options: { revision?: string; license?: string | null; gated?: boolean } = {}): HubRepo {
    const files = new Map<string, HubFile>();
    for (const [rel, value] of Object.entries(contents)) {
      const data = Buffer.isBuffer(value) ? value : Buffer.from(value);
      files.set(rel, { path: rel, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), gitOid: gitBlobId(data), lfs: LFS_PATTERN.test(rel), data });
    }
    return this.addRepo(repo, files, options);
  }

  private addRepo(repo: string, files: Map<string, HubFile>, options: { revision?: string; license?: string | null; gated?: boolean }): HubRepo {
    const commit = fakeCommit(`${repo}:${[...files.values()].map((f) => f.sha256).join(',')}`);
    const entry: HubRepo = { repo, refs: new Map([[options.revision ?? 'main', commit]]), commit, files, license: options.license ?? 'apache-2.0', gated: options.gated ?? false };
    this.repos.set(repo, entry);
    for (const file of files.values()) this.byHash.set(file.sha256, file);
    return entry;
  }

  /** Adds a fault for the next matching request(s). */
  fault(fault: HubFault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Limits every response body to this many bytes per second (null: no limit). */
  throttle(bytesPerSecond: number | null): void {
    this.throttleBytesPerSecond = bytesPerSecond;
  }

  /** Requests answered with file content (not the hub's redirect) that carried a Range header. */
  rangeRequests(file?: string): HubRequestLog[] {
    return this.requests.filter((r) => r.range !== null && r.status !== 302 && (file === undefined || r.file === file));
  }

  contentBytesSent(file?: string): number {
    return this.requests.filter((r) => (r.kind === 'cdn' || r.kind === 'resolve') && (file === undefined || r.file === file)).reduce((sum, r) => sum + r.bytesSent, 0);
  }

  resetLog(): void {
    this.requests.length = 0;
    this.connections = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- request handling ----

  private takeFault(kind: 'api' | 'content', file: string | null): HubFault | null {
    for (const fault of this.faults) {
      if (fault.left <= 0) continue;
      const match = fault.match;
      const applies =
        kind === 'api'
          ? match === 'api'
          : match === undefined || (match !== 'api' && file !== null && (typeof match === 'string' ? match === file : match.test(file)));
      if (!applies) continue;
      fault.left--;
      return fault;
    }
    return null;
  }

  private log(req: http.IncomingMessage, kind: HubRequestLog['kind'], file: string | null): HubRequestLog {
    const entry: HubRequestLog = { method: req.method ?? 'GET', url: req.url ?? '', kind, file, range: (req.headers.range as string | undefined) ?? null, status: 0, bytesSent: 0, fault: null };
    this.requests.push(entry);
    return entry;
  }

  private findRepo(parts: string[]): { repo: HubRepo | null; name: string; rest: string[] } {
    const name = `${parts[0] ?? ''}/${parts[1] ?? ''}`;
    return { repo: this.repos.get(name) ?? null, name, rest: parts.slice(2) };
  }

  private commitOf(repo: HubRepo, revision: string): string | null {
    if (revision === repo.commit) return repo.commit;
    return repo.refs.get(revision) ?? null;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hub.local');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'api' && parts[1] === 'models') {
      const entry = this.log(req, 'api', null);
      const { repo, rest } = this.findRepo(parts.slice(2));
      const fault = this.takeFault('api', null);
      if (fault?.kind === 'status') return this.send(res, entry, fault.status, { error: `injected ${fault.status}` });
      if (!repo) return this.send(res, entry, 401, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
      if (rest[0] !== 'revision' || rest.length < 2) return this.send(res, entry, 404, { error: 'Not found' });
      const revision = rest.slice(1).join('/');
      const commit = this.commitOf(repo, revision);
      if (!commit) return this.send(res, entry, 404, { error: `Invalid rev id: ${revision}` }, { 'x-error-code': 'RevisionNotFound' });
      const blobs = url.searchParams.get('blobs') === 'true' || url.searchParams.get('blobs') === 'True';
      return this.send(res, entry, 200, {
        id: repo.repo,
        modelId: repo.repo,
        sha: commit,
        private: false,
        gated: repo.gated ? 'manual' : false,
        cardData: repo.license ? { license: repo.license } : {},
        siblings: [...repo.files.values()].map((f) =>
          !blobs
            ? { rfilename: f.path }
            : f.hashStated === false
              ? { rfilename: f.path, size: f.size }
              : { rfilename: f.path, size: f.size, blobId: f.lfs ? fakeCommit(f.sha256) : f.gitOid, ...(f.lfs ? { lfs: { sha256: f.sha256, size: f.size, pointerSize: 134 } } : {}) },
        ),
      });
    }
    if (parts[0] === '_cdn' && parts[1]) {
      const file = this.byHash.get(parts[1]) ?? null;
      const entry = this.log(req, 'cdn', file?.path ?? null);
      if (!file) return this.send(res, entry, 404, { error: 'no such object' });
      return this.serveContent(req, res, entry, file, {});
    }
    const { repo, rest } = this.findRepo(parts);
    if (rest[0] === 'resolve' && rest.length >= 3) {
      const revision = rest[1]!;
      const filePath = rest.slice(2).join('/');
      const entry = this.log(req, 'resolve', filePath);
      if (!repo) return this.send(res, entry, 401, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
      const commit = this.commitOf(repo, revision);
      if (!commit) return this.send(res, entry, 404, { error: 'Revision not found' }, { 'x-error-code': 'RevisionNotFound' });
      const file = repo.files.get(filePath);
      if (!file) return this.send(res, entry, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
      const hubHeaders = { 'x-repo-commit': commit, etag: `"${file.lfs ? file.sha256 : file.gitOid}"` };
      if (file.lfs && this.options.redirectLfs) {
        // Status faults apply to the hub's answer; byte faults to the CDN's.
        const fault = this.peekStatusFault(filePath);
        if (fault) return this.send(res, entry, fault, { error: `injected ${fault}` });
        entry.status = 302;
        res.writeHead(302, { ...hubHeaders, location: `/_cdn/${file.sha256}`, 'x-linked-etag': `"${file.sha256}"`, 'x-linked-size': String(file.size), 'content-length': '0' });
        res.end();
        return;
      }
      return this.serveContent(req, res, entry, file, hubHeaders);
    }
    const entry = this.log(req, 'other', null);
    this.send(res, entry, 404, { error: 'Not found' });
  }

  private peekStatusFault(file: string): number | null {
    const index = this.faults.findIndex((f) => f.left > 0 && f.kind === 'status' && (f.match === undefined || (f.match !== 'api' && (typeof f.match === 'string' ? f.match === file : f.match.test(file)))));
    if (index < 0) return null;
    const fault = this.faults[index]!;
    fault.left--;
    return (fault as { status: number }).status;
  }

  private send(res: http.ServerResponse, entry: HubRequestLog, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    entry.status = status;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }

  private async serveContent(req: http.IncomingMessage, res: http.ServerResponse, entry: HubRequestLog, file: HubFile, extra: Record<string, string>): Promise<void> {
    const fault = this.takeFault('content', file.path);
    entry.fault = fault?.kind ?? null;
    if (fault?.kind === 'status') return this.send(res, entry, fault.status, { error: `injected ${fault.status}` });
    let start = 0;
    let end = file.size - 1;
    let status = 200;
    const headers: Record<string, string> = { ...extra, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const range = req.headers.range;
    if (range && fault?.kind !== 'ignore-range') {
      const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      let s = match?.[1] ? Number(match[1]) : NaN;
      let e = match?.[2] ? Number(match[2]) : file.size - 1;
      if (match && !match[1] && match[2]) {
        s = Math.max(0, file.size - Number(match[2]));
        e = file.size - 1;
      }
      if (!match || !Number.isFinite(s) || s >= file.size || e < s) {
        entry.status = 416;
        res.writeHead(416, { ...headers, 'content-range': `bytes */${file.size}`, 'content-length': '0' });
        res.end();
        return;
      }
      start = s;
      end = Math.min(e, file.size - 1);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
    }
    headers['content-length'] = String(end - start + 1);
    entry.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const length = end - start + 1;
    if (!fault && this.throttleBytesPerSecond === null) {
      // The fast path, as a real server sends a file.
      if (file.data) {
        entry.bytesSent = length;
        res.end(file.data.subarray(start, end + 1));
        return;
      }
      const stream = createReadStream(file.diskPath!, { start, end, highWaterMark: 1 << 20 });
      stream.on('data', (chunk) => (entry.bytesSent += chunk.length));
      await new Promise<void>((resolve) => {
        stream.pipe(res);
        res.on('close', () => {
          stream.destroy();
          resolve();
        });
      });
      return;
    }
    await this.streamSlowly(res, entry, file, start, length, fault);
  }

  private async streamSlowly(res: http.ServerResponse, entry: HubRequestLog, file: HubFile, start: number, length: number, fault: HubFault | null): Promise<void> {
    const handle = file.diskPath ? await open(file.diskPath, 'r') : null;
    try {
      let sent = 0;
      const began = performance.now();
      while (sent < length) {
        if (res.destroyed) return;
        let size = Math.min(this.options.chunkBytes, length - sent);
        if ((fault?.kind === 'cut' || fault?.kind === 'stall') && sent + size > fault.afterBytes) size = Math.max(0, fault.afterBytes - sent);
        if (size === 0) {
          if (fault?.kind === 'cut') {
            // Everything written so far reaches the client (a FIN, not a reset), then the body stops short.
            res.socket?.end();
            setTimeout(() => res.socket?.destroy(), 50).unref();
            return;
          }
          // stall: keep the connection open, send nothing, until the client gives up.
          await new Promise<void>((resolve) => res.on('close', () => resolve()));
          return;
        }
        let chunk: Buffer;
        if (file.data) chunk = Buffer.from(file.data.subarray(start + sent, start + sent + size));
        else {
          chunk = Buffer.alloc(size);
          await handle!.read(chunk, 0, size, start + sent);
        }
        if (fault?.kind === 'corrupt') {
          const at = fault.offset - (start + sent);
          if (at >= 0 && at < chunk.length) chunk[at] = chunk[at]! ^ 0xff;
        }
        const ok = res.write(chunk);
        sent += size;
        entry.bytesSent += size;
        if (!ok) {
          // Whichever comes first; the other listener is removed so slow transfers do not pile them up.
          await new Promise<void>((resolve) => {
            const done = (): void => {
              res.off('drain', done).off('close', done);
              resolve();
            };
            res.on('drain', done).on('close', done);
          });
        }
        if (this.throttleBytesPerSecond !== null) {
          const due = (sent / this.throttleBytesPerSecond) * 1000 - (performance.now() - began);
          if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
        }
      }
      res.end();
    } finally {
      await handle?.close();
    }
  }
}

/** Reads a repo file's bytes as the server has them (for comparisons in tests). */
export async function hubFileBytes(file: HubFile): Promise<Buffer> {
  return file.data ?? readFile(file.diskPath!);
}
