// The ordered list of schema versions, one file each, and the runner that applies them.
//
// All pending migrations run in one BEGIN IMMEDIATE transaction that ends by setting
// user_version: a database is either at its old version or at the latest, never in between.
// A database newer than this code is refused (NewerSchemaError) before anything is written.
import { inTransaction, userVersion, type WritableDB } from '../database.ts';
import { isCorruptionError, NewerSchemaError, StorageError } from '../errors.ts';
import { migration0001 } from './0001-initial.ts';
import { migration0002 } from './0002-search.ts';
import { migration0003 } from './0003-cluster-messages.ts';
import { migration0004 } from './0004-search-chars.ts';
import { migration0005 } from './0005-presets.ts';
import { migration0006 } from './0006-token-records.ts';
import type { Migration } from './types.ts';

export type { Migration } from './types.ts';

export const MIGRATIONS: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006];

MIGRATIONS.forEach((migration, index) => {
  if (migration.version !== index + 1) throw new Error(`Migration ${migration.name} has version ${migration.version}, expected ${index + 1}`);
});

export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

export interface MigrationResult {
  from: number;
  to: number;
}

/**
 * Brings the database to `target` (default: the latest version). `target` below the latest is
 * for tests and fixtures that need an old schema.
 */
export function migrate(db: WritableDB, file: string, target = LATEST_SCHEMA_VERSION): MigrationResult {
  if (!Number.isInteger(target) || target < 0 || target > LATEST_SCHEMA_VERSION) {
    throw new StorageError('INVALID_INPUT', `Cannot migrate to schema version ${target}; this code knows 0 to ${LATEST_SCHEMA_VERSION}.`);
  }
  return inTransaction(db, () => {
    const from = userVersion(db);
    if (from > LATEST_SCHEMA_VERSION) throw new NewerSchemaError(file, from, LATEST_SCHEMA_VERSION);
    if (from >= target) return { from, to: from };
    for (const migration of MIGRATIONS.slice(from, target)) {
      try {
        migration.up(db);
      } catch (error) {
        if (isCorruptionError(error) || error instanceof StorageError) throw error;
        throw new StorageError(
          'MIGRATION_FAILED',
          `Updating the conversation database to schema version ${migration.version} (${migration.name}) failed: ` +
            `${(error as Error).message}. The database was left unchanged at version ${from}.`,
          { cause: error },
        );
      }
    }
    db.pragma(`user_version = ${target}`);
    return { from, to: target };
  });
}
