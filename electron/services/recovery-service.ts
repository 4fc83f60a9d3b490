// The conversation database's slot: the app starts even when the database is damaged.
//
// Opening a damaged file (or meeting damage in use) does not stop the app: the storage slot
// is then empty, every storage call answers the CORRUPT error, and the recovery screen asks
// the user what to do — salvage (every readable conversation and message into a fresh
// database), start fresh, or restore an automatic backup. The damaged file is copied aside
// once (a second start finds the same copy) and never deleted.
//
// Rolling backups: SQLite's online backup of the working database, at most one a day, the
// newest five kept, in <data>/backups — so that restore has something to restore.
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RecoveryStatus, SalvageReport } from '../shared/contract.ts';
import { listBackups, rollBackup, Storage, StorageCorruptError, StorageError, type BackupInfo, type OpenOptions } from '../storage/index.ts';

export type { RecoveryStatus, SalvageReport };

export interface RecoveryOptions {
  backupsDir: string;
  /** The data folder failed the write check at start (see probeWritable): nothing is opened. */
  unwritable?: { folder: string; code: string } | null;
  open?: OpenOptions;
  /** How often to check whether a backup is due (default hourly; the backup itself is daily). */
  backupCheckMs?: number;
  backupIntervalMs?: number;
  backupsKept?: number;
}

export class RecoveryService {
  #current: Storage | null = null;
  #damage: StorageCorruptError | null = null;
  #timer: NodeJS.Timeout | null = null;
  #backingUp: Promise<unknown> | null = null;
  readonly file: string;
  readonly options: RecoveryOptions;
  /** Stands for whichever storage is current; when none is (damaged), each call answers the damage. */
  readonly storage: Storage;

  constructor(file: string, options: RecoveryOptions) {
    this.file = file;
    this.options = options;
    try {
      if (!options.unwritable) this.#current = Storage.open(file, options.open);
    } catch (error) {
      if (!(error instanceof StorageCorruptError)) throw error;
      this.#damage = error;
    }
    this.storage = new Proxy({} as Storage, {
      get: (_target, property) => {
        const current = this.#current;
        if (current === null) {
          if (property === 'close') return () => undefined;
          if (property === 'isOpen') return false;
          if (property === 'path') return this.file;
          return () => {
            if (this.options.unwritable) throw new StorageError('IO', 'The data folder is not writable.', { cause: { code: this.options.unwritable.code } });
            throw this.#damage ?? new StorageError('CLOSED', 'The conversation database is closed.');
          };
        }
        const value: unknown = Reflect.get(current, property, current);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
      },
    });
  }

  /** The damage, whether met at open or in use. */
  get damage(): StorageCorruptError | null {
    return this.#damage ?? this.#current?.corruption ?? null;
  }

  status(): RecoveryStatus {
    if (this.options.unwritable) return { state: 'unwritable', ...this.options.unwritable };
    const damage = this.damage;
    if (damage === null) return { state: 'ok' };
    return {
      state: 'damaged',
      databasePath: damage.path,
      keptCopy: damage.asideCopies[0] ?? null,
      detail: damage.message,
      backups: listBackups(this.options.backupsDir).map(({ name, createdAt, bytes }) => ({ name, createdAt, bytes })),
    };
  }

  salvage(): SalvageReport {
    const damage = this.#requireDamage();
    const { storage, result } = Storage.salvage(damage, this.options.open);
    this.#replace(storage);
    return { ...result, keptCopy: damage.asideCopies[0] ?? null };
  }

  startFresh(): RecoveryStatus {
    const damage = this.#requireDamage();
    this.#replace(Storage.startFresh(damage, this.options.open));
    return this.status();
  }

  restoreBackup(name: string): RecoveryStatus {
    const damage = this.#requireDamage();
    const backup = listBackups(this.options.backupsDir).find((candidate) => candidate.name === name);
    if (backup === undefined) throw new StorageError('NOT_FOUND', 'That backup is not there any more.');
    this.#replace(Storage.restoreFrom(damage, backup.path, this.options.open));
    return this.status();
  }

  /** A backup now if one is due (and the database is sound); resolves with it, or null. */
  async backupIfDue(now: number = Date.now()): Promise<BackupInfo | null> {
    await this.#backingUp?.catch(() => undefined);
    const current = this.#current;
    if (current === null || this.damage !== null || !current.isOpen) return null;
    const run = rollBackup(current, this.options.backupsDir, {
      now,
      ...(this.options.backupIntervalMs !== undefined ? { intervalMs: this.options.backupIntervalMs } : {}),
      ...(this.options.backupsKept !== undefined ? { keep: this.options.backupsKept } : {}),
    });
    this.#backingUp = run;
    try {
      return await run;
    } finally {
      this.#backingUp = null;
    }
  }

  /** Checks for a due backup now and then every backupCheckMs (failures are retried next time). */
  startBackups(): void {
    if (this.#timer !== null) return;
    const check = (): void => void this.backupIfDue().catch(() => undefined);
    check();
    this.#timer = setInterval(check, this.options.backupCheckMs ?? 60 * 60 * 1000);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#backingUp?.catch(() => undefined);
    this.#current?.close();
  }

  #requireDamage(): StorageCorruptError {
    const damage = this.damage;
    if (damage === null) throw new StorageError('CONFLICT', 'The conversation database is not damaged: there is nothing to recover.');
    return damage;
  }

  #replace(storage: Storage): void {
    try {
      this.#current?.close();
    } catch {
      // the damaged one may not close cleanly; its files are already aside
    }
    this.#current = storage;
    this.#damage = null;
  }
}

/**
 * Whether `folder` can be written: created if missing, then a probe file written and removed.
 * Returns null when it can, else the errno code (EACCES, EROFS, ENOSPC...).
 */
export function probeWritable(folder: string): string | null {
  try {
    mkdirSync(folder, { recursive: true });
    const probe = path.join(folder, `.jielong-write-check-${process.pid}`);
    writeFileSync(probe, 'ok');
    rmSync(probe, { force: true });
    // An existing database file that cannot be written is as bad as the folder.
    for (const name of ['jielong.sqlite', 'jielong.sqlite-wal']) {
      try {
        accessSync(path.join(folder, name), constants.W_OK);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return typeof code === 'string' ? code : 'EIO';
  }
}

export function backupsDirIn(dataDir: string): string {
  return path.join(dataDir, 'backups');
}
