// No raw errno or SQLite text reaches the UI: low-level codes map through one table to codes
// the renderer has words for; a data folder that cannot be written is found at start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { StorageError } from '../storage/index.ts';
import { en } from '../../renderer/src/lib/i18n/en.ts';
import { zhCN } from '../../renderer/src/lib/i18n/zh-CN.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import { hostErrorCodeSchema } from '../shared/model-host-protocol.ts';
import { ERROR_CODES, isErrorCode, USER_ERROR_DETAILS, type ErrorCode } from '../shared/user-errors.ts';
import { toApiError } from './api.ts';
import type { DownloadError } from './downloads/download-error.ts';
import type { ImportRefusal } from './import-guard.ts';
import type { ModelRegistryError } from './model-registry.ts';
import { createAppServices, type AppServices } from './app-services.ts';
import { probeWritable } from './recovery-service.ts';

const RAW = /SQLITE_|EACCES|EROFS|ENOSPC|EPERM|errno|readonly database/;

const sqlite = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('the error table', () => {
  const cases: Array<[unknown, string]> = [
    [new StorageError('IO', 'The conversation database could not be written or read (SQLITE_READONLY): attempt to write a readonly database', { cause: sqlite('SQLITE_READONLY', 'attempt to write a readonly database') }), 'storage_readonly'],
    [new StorageError('IO', 'x (SQLITE_READONLY_DBMOVED)', { cause: sqlite('SQLITE_READONLY_DBMOVED', 'moved') }), 'storage_readonly'],
    [new StorageError('IO', 'Cannot read the conversation database at /x: EACCES: permission denied', { cause: sqlite('EACCES', 'EACCES: permission denied, open /x') }), 'storage_readonly'],
    [sqlite('EROFS', 'EROFS: read-only file system, open /data/settings.json'), 'storage_readonly'],
    [new StorageError('IO', 'full (SQLITE_FULL)', { cause: sqlite('SQLITE_FULL', 'database or disk is full') }), 'storage_full'],
    [sqlite('ENOSPC', 'ENOSPC: no space left on device, write'), 'storage_full'],
    [new StorageError('BUSY', 'busy', { cause: sqlite('SQLITE_BUSY', 'database is locked') }), 'storage_busy'],
    [new StorageError('IO', 'io (SQLITE_IOERR_WRITE)', { cause: sqlite('SQLITE_IOERR_WRITE', 'disk I/O error') }), 'storage_io'],
  ];
  for (const [error, code] of cases) {
    it(`answers ${code} for ${(error as Error).message.slice(0, 40)}, with no raw text`, () => {
      const answer = toApiError(error);
      expect(answer.code).toBe(code);
      expect(answer.message).not.toMatch(RAW);
    });
  }

  it('every code of the table has words in both languages', () => {
    for (const code of Object.keys(USER_ERROR_DETAILS)) {
      expect((en.errors as Record<string, string>)[code], code).toBeTruthy();
      expect((zhCN.errors as Record<string, string>)[code], code).toBeTruthy();
    }
  });
});

describe('the one enum of error codes', () => {
  const keysOf = (table: object, except: string[]) => Object.keys(table).filter((key) => !except.includes(key));

  it('names every code the UI has words for, in both languages alike', () => {
    const tables: Array<[string, object, object, string[]]> = [
      ['errors', en.errors, zhCN.errors, ['generic']],
      ['modelsScreen.errors', en.modelsScreen.errors, zhCN.modelsScreen.errors, []],
      ['modelsScreen.importErrors', en.modelsScreen.importErrors, zhCN.modelsScreen.importErrors, ['other']],
    ];
    for (const [name, english, chinese, fallbacks] of tables) {
      expect(keysOf(english, fallbacks).filter((code) => !isErrorCode(code)), `${name}: keys that are no error code`).toEqual([]);
      expect(Object.keys(chinese).sort(), name).toEqual(Object.keys(english).sort());
    }
  });

  it('is what the host protocol validates and what each error class carries', () => {
    expect(hostErrorCodeSchema.options).toEqual([...ERROR_CODES.host]);
    expectTypeOf<ModelHostError['code']>().toExtend<ErrorCode>();
    expectTypeOf<DownloadError['code']>().toExtend<ErrorCode>();
    expectTypeOf<ModelRegistryError['code']>().toExtend<ErrorCode>();
    expectTypeOf<ImportRefusal['code']>().toExtend<ErrorCode>();
    expectTypeOf<StorageError['userCode']>().toEqualTypeOf<ErrorCode>();
  });

  it('is what a call answers for storage refusals, each storage code mapped once', () => {
    const answers = (['NOT_FOUND', 'INVALID_INPUT', 'CONFLICT', 'CLOSED', 'IMPORT_MALFORMED', 'NEWER_SCHEMA'] as const).map((code) => toApiError(new StorageError(code, 'refused')).code);
    expect(answers).toEqual(['not_found', 'invalid_input', 'conflict', 'closed', 'import_malformed', 'newer_schema']);
    expect(answers.every(isErrorCode)).toBe(true);
    expect(toApiError(new ModelHostError('context_full', 'full')).code).toBe('context_full');
    expect(isErrorCode('storage_conflict')).toBe(false);
  });
});

describe('a data folder that cannot be written', () => {
  const roots: string[] = [];
  const apps: AppServices[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
  });

  it('is found by the write check (a folder under a file cannot be made)', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jielong-unwritable-'));
    roots.push(root);
    fs.writeFileSync(path.join(root, 'file'), 'x');
    expect(probeWritable(path.join(root, 'file', 'data'))).toBe('ENOTDIR');
    expect(probeWritable(path.join(root, 'data'))).toBeNull();
  });

  it('starts, says so naming the folder, and answers storage calls with the plain code', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jielong-unwritable-'));
    roots.push(root);
    const dataDir = path.join(root, 'data');
    const app = createAppServices({
      dataDir,
      bundledModelsDir: path.join(root, 'none'),
      spawnHost: () => {
        throw new Error('not needed');
      },
      probeWritable: () => 'EROFS',
    });
    apps.push(app);
    const status = await app.dispatch('recovery.status', {});
    expect(status).toEqual({ ok: true, value: { state: 'unwritable', folder: dataDir, code: 'EROFS' } });
    const list = await app.dispatch('conversations.list', {});
    expect(list.ok ? null : list.error.code).toBe('storage_readonly');
    expect(list.ok ? '' : list.error.message).not.toMatch(RAW);
    // Nothing was created in the folder.
    expect(fs.existsSync(path.join(dataDir, 'jielong.sqlite'))).toBe(false);
  });
});
