// Hashes of files on disk, streamed: sha256 (what the hub states for LFS files) and the git
// blob id (what it states for small files kept in git itself).
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

const READ_CHUNK = 1 << 20;

/** Feeds the first `length` bytes (default: all) of a file into `hash`. */
export async function hashFileInto(hash: Hash, file: string, length?: number): Promise<number> {
  if (length === 0) return 0;
  let bytes = 0;
  const stream = createReadStream(file, { highWaterMark: READ_CHUNK, ...(length === undefined ? {} : { start: 0, end: length - 1 }) });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return bytes;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFileInto(hash, file);
  return hash.digest('hex');
}

/** `git hash-object`: sha1 over "blob <size>\0" and the content. */
export async function gitBlobIdOfFile(file: string): Promise<string> {
  const { size } = await stat(file);
  const hash = createHash('sha1');
  hash.update(`blob ${size}\0`);
  await hashFileInto(hash, file);
  return hash.digest('hex');
}

export function gitBlobIdOf(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export function sha256Of(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;
export const GIT_OID_PATTERN = /^[0-9a-f]{40}$/;
