// Helpers shared by the storage tests: temporary folders and databases closed after each test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { Storage, type OpenOptions } from '../../storage/storage.ts';

const dirs: string[] = [];
const opened: Storage[] = [];

afterEach(() => {
  for (const storage of opened.splice(0)) {
    try {
      storage.close();
    } catch {
      // a test may have closed or broken it on purpose
    }
  }
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jielong-storage-'));
  dirs.push(dir);
  return dir;
}

/** A clock that advances 1 ms per reading, so times are distinct and ordered. */
export function steppingClock(start = 1_700_000_000_000): () => number {
  let now = start;
  return () => (now += 1);
}

/** Opens a storage in a fresh temporary folder (closed after the test). */
export function openTemp(options: OpenOptions = {}): Storage {
  const storage = Storage.open(path.join(tempDir(), 'jielong.db'), { now: steppingClock(), ...options });
  opened.push(storage);
  return storage;
}

/** Registers a storage opened by the test itself for closing after it. */
export function track(storage: Storage): Storage {
  opened.push(storage);
  return storage;
}
