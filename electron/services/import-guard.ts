// What an imported model folder may contain, checked before anything in it is read: only
// regular files and folders inside the chosen folder (lstat first: a symbolic link, a named
// pipe, a device or a socket is refused, so nothing outside is copied and no read can block),
// JSON files within a size limit and parseable (messages never quote their contents), and a
// time bound on reading them.
import { constants } from 'node:fs';
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { formatByteSize } from '../shared/byte-size.ts';
import type { ImportRefusalCode } from '../shared/user-errors.ts';

export class ImportRefusal extends Error {
  readonly code: ImportRefusalCode;
  constructor(code: ImportRefusal['code'], message: string) {
    super(message);
    this.name = 'ImportRefusal';
    this.code = code;
  }
}

/** Byte limits for the JSON files a model folder holds (a tokenizer.json is the big one). */
export const JSON_LIMITS: Readonly<Record<string, number>> = {
  'tokenizer.json': 64 * 1024 * 1024,
};
export const DEFAULT_JSON_LIMIT = 4 * 1024 * 1024;
/** A folder deeper or fuller than this is not a model folder. */
const MAX_DEPTH = 6;
const MAX_ENTRIES = 5_000;
/** Each JSON file must be read within this (a slow network mount, a file being replaced). */
export const READ_TIMEOUT_MS = 10_000;

function kindOf(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** Reads a regular file (already lstat-ed) with O_NOFOLLOW, at most `limit` bytes, within READ_TIMEOUT_MS. */
async function readBounded(file: string, limit: number, label: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ImportRefusal('timeout', `Reading ${label} took longer than ${READ_TIMEOUT_MS / 1000} s; nothing was imported.`)), READ_TIMEOUT_MS);
  });
  const read = (async () => {
    // O_NONBLOCK: even if the file was swapped for a pipe since the lstat, open does not wait.
    const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ImportRefusal('unsafe_folder', `${label} is ${kindOf(info)}; only regular files can be imported.`);
      if (info.size > limit) throw new ImportRefusal('unsafe_folder', `${label} is ${formatByteSize(info.size)}, more than the ${formatByteSize(limit)} such a file may be.`);
      const buffer = Buffer.alloc(info.size);
      let offset = 0;
      while (offset < info.size) {
        const { bytesRead } = await handle.read(buffer, offset, info.size - offset, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
      }
      return buffer.subarray(0, offset).toString('utf8');
    } finally {
      await handle.close();
    }
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
    read.catch(() => undefined);
  }
}

/** The chosen path itself: a real folder, not a link to one. */
async function guardTopFolder(folder: string): Promise<void> {
  const top = await lstat(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') throw new ImportRefusal('folder_not_found', `There is no folder at ${folder}.`);
    throw new ImportRefusal('unsafe_folder', `${folder} cannot be read (${error.code ?? 'error'}).`);
  });
  if (top.isSymbolicLink()) throw new ImportRefusal('unsafe_folder', `${folder} is a symbolic link: choose the folder it points to.`);
  if (!top.isDirectory()) throw new ImportRefusal('unsafe_folder', `${folder} is not a folder.`);
}

/**
 * The lighter check before a preview reads a few files of a folder not imported yet: the folder,
 * and each of `files` a regular file within its size limit. Nothing is parsed here (the whole
 * folder's check parses every JSON file, a third of a second for a large tokenizer.json).
 */
export async function guardFolderFiles(folder: string, files: readonly string[]): Promise<void> {
  await guardTopFolder(folder);
  for (const file of files) {
    const info = await lstat(path.join(folder, file)).catch(() => null);
    if (info === null) throw new ImportRefusal('invalid_model', `The folder has no ${file}.`);
    if (!info.isFile()) throw new ImportRefusal('unsafe_folder', `${file} is ${info.isSymbolicLink() ? 'a symbolic link' : kindOf(info)}; only regular files can be read.`);
    const limit = JSON_LIMITS[file] ?? DEFAULT_JSON_LIMIT;
    if (info.size > limit) throw new ImportRefusal('unsafe_folder', `${file} is ${formatByteSize(info.size)}, more than the ${formatByteSize(limit)} such a file may be.`);
  }
}

/**
 * Checks `folder` for import. Throws an ImportRefusal with a plain message (naming the file,
 * never quoting it) when something in it must not be imported.
 */
export async function guardImportFolder(folder: string): Promise<void> {
  await guardTopFolder(folder);
  const root = await realpath(folder);
  let entries = 0;
  const json: Array<{ full: string; relative: string; size: number }> = [];

  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new ImportRefusal('unsafe_folder', `${folder} has folders nested deeper than a model folder has.`);
    for (const name of await readdir(dir)) {
      entries += 1;
      if (entries > MAX_ENTRIES) throw new ImportRefusal('unsafe_folder', `${folder} holds more than ${MAX_ENTRIES} files: it is not a model folder.`);
      const full = path.join(dir, name);
      const relative = path.relative(root, full).split(path.sep).join('/');
      const info = await lstat(full);
      if (info.isSymbolicLink()) {
        // Only a link to a regular file or folder inside the chosen folder is followed.
        const target = await realpath(full).catch(() => null);
        if (target === null) throw new ImportRefusal('unsafe_folder', `${relative} is a symbolic link that leads nowhere (or in a loop).`);
        if (target !== root && !target.startsWith(root + path.sep)) throw new ImportRefusal('unsafe_folder', `${relative} is a symbolic link to something outside the folder; only files inside it can be imported.`);
        const targetInfo = await lstat(target);
        if (!targetInfo.isFile() && !targetInfo.isDirectory()) throw new ImportRefusal('unsafe_folder', `${relative} is a symbolic link to ${kindOf(targetInfo)}; only regular files can be imported.`);
        if (targetInfo.isFile() && name.toLowerCase().endsWith('.json')) json.push({ full: target, relative, size: targetInfo.size });
        continue;
      }
      if (info.isDirectory()) {
        await walk(full, depth + 1);
        continue;
      }
      if (!info.isFile()) throw new ImportRefusal('unsafe_folder', `${relative} is ${kindOf(info)}; only regular files can be imported.`);
      if (name.toLowerCase().endsWith('.json')) json.push({ full, relative, size: info.size });
    }
  };
  await walk(root, 0);

  for (const file of json) {
    const limit = JSON_LIMITS[path.posix.basename(file.relative)] ?? DEFAULT_JSON_LIMIT;
    if (file.size > limit) throw new ImportRefusal('unsafe_folder', `${file.relative} is ${formatByteSize(file.size)}, more than the ${formatByteSize(limit)} such a file may be.`);
    const text = await readBounded(file.full, limit, file.relative);
    try {
      JSON.parse(text);
    } catch {
      // The parser's message quotes the text: say where, not what.
      throw new ImportRefusal('invalid_model', `${file.relative} is not valid JSON.`);
    }
  }
}
