// Rolling automatic backups of the conversation database, so that a damaged file has
// something to be restored from. SQLite's online backup API (Storage.backup) copies the live
// database while the app goes on; at most one backup a day (by default), the newest `keep`
// kept, older ones removed. Names sort by time: jielong-backup-<UTC time>.sqlite.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { integrityProblems, type BackupResult, type ReadableDB } from './database.ts';
import { StorageError } from './errors.ts';

export const BACKUP_PREFIX = 'jielong-backup-';
export const BACKUP_SUFFIX = '.sqlite';
export const DEFAULT_BACKUP_INTERVAL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_BACKUPS_KEPT = 5;

export interface BackupInfo {
  /** The file name (what the UI sends back to restore it). */
  name: string;
  path: string;
  createdAt: number;
  bytes: number;
}

function stamp(now: number): string {
  return new Date(now).toISOString().replace(/[:.]/g, '-');
}

/** The backups in `dir`, newest first. */
export function listBackups(dir: string): BackupInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const backups: BackupInfo[] = [];
  for (const name of names) {
    if (!name.startsWith(BACKUP_PREFIX) || !name.endsWith(BACKUP_SUFFIX)) continue;
    const file = path.join(dir, name);
    try {
      const info = fs.lstatSync(file);
      if (!info.isFile()) continue;
      backups.push({ name, path: file, createdAt: info.mtimeMs, bytes: info.size });
    } catch {
      // gone meanwhile
    }
  }
  return backups.sort((a, b) => b.name.localeCompare(a.name));
}

export interface RollOptions {
  now?: number;
  /** No new backup while the newest is younger than this (default a day). */
  intervalMs?: number;
  /** How many to keep (default 5). */
  keep?: number;
}

/**
 * Makes a backup when the newest is older than `intervalMs` (or there is none), then removes
 * all but the newest `keep`. Returns the new backup, or null when none was due.
 */
/** What a backup needs of the storage: its online copy (Storage.backup). */
export interface BackupSource {
  backup(target: string): Promise<BackupResult>;
}

export async function rollBackup(storage: BackupSource, dir: string, options: RollOptions = {}): Promise<BackupInfo | null> {
  const now = options.now ?? Date.now();
  const intervalMs = options.intervalMs ?? DEFAULT_BACKUP_INTERVAL_MS;
  const keep = Math.max(1, options.keep ?? DEFAULT_BACKUPS_KEPT);
  const newest = listBackups(dir)[0];
  if (newest !== undefined && now - newest.createdAt < intervalMs) return null;
  fs.mkdirSync(dir, { recursive: true });
  const name = `${BACKUP_PREFIX}${stamp(now)}${BACKUP_SUFFIX}`;
  const result = await storage.backup(path.join(dir, name));
  fs.utimesSync(result.path, now / 1000, now / 1000);
  for (const old of listBackups(dir).slice(keep)) fs.rmSync(old.path, { force: true });
  return { name, path: result.path, createdAt: now, bytes: result.bytes };
}

/** Throws unless `file` is a sound SQLite database (integrity_check). */
export function checkBackup(file: string): void {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new StorageError('IO', 'The backup cannot be opened.', { cause: error });
  }
  try {
    const problems = integrityProblems(db as ReadableDB, true);
    if (problems.length > 0) throw new StorageError('CORRUPT', 'The backup is damaged too.');
  } catch (error) {
    if (error instanceof StorageError) throw error;
    throw new StorageError('CORRUPT', 'The backup is damaged too.', { cause: error });
  } finally {
    db.close();
  }
}
