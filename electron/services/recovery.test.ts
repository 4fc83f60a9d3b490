// The app with a damaged conversation database: it starts (no throw), says what happened,
// keeps one copy of the damaged file however often it starts, and recovers by salvage, by
// starting fresh, or from an automatic backup.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallName, CallOutput } from '../shared/contract.ts';
import { createAppServices, DATABASE_FILE, type AppServices } from './app-services.ts';

const roots: string[] = [];
const running: AppServices[] = [];

afterEach(async () => {
  for (const app of running.splice(0)) await app.close();
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

function start(dataDir: string): AppServices {
  const app = createAppServices({
    dataDir,
    bundledModelsDir: path.join(dataDir, 'no-models'),
    spawnHost: () => {
      throw new Error('no model host in these tests');
    },
  });
  running.push(app);
  return app;
}

async function stop(app: AppServices): Promise<void> {
  running.splice(running.indexOf(app), 1);
  await app.close();
}

async function call<N extends CallName>(app: AppServices, name: N, input: unknown): Promise<CallOutput<N>> {
  const result = await app.dispatch(name, input);
  if (!result.ok) throw Object.assign(new Error(result.error.message), { code: result.error.code });
  return result.value as CallOutput<N>;
}

async function populate(app: AppServices, conversations: number): Promise<void> {
  for (let c = 0; c < conversations; c += 1) {
    const conversation = app.storage.createConversation({ title: `conversation ${c}` });
    for (let m = 0; m < 5; m += 1) app.storage.appendUserMessage({ conversationId: conversation.id, content: `message ${c}/${m} ${'text '.repeat(200)}` });
  }
}

/** Overwrites the b-tree header of a few pages in the second half of the file: damage quick_check finds. */
function damage(file: string): void {
  const pages = fs.statSync(file).size / 4096;
  const fd = fs.openSync(file, 'r+');
  for (let page = Math.floor(pages / 2); page < pages; page += 7) fs.writeSync(fd, Buffer.alloc(12, 0xa5), 0, 12, page * 4096);
  fs.closeSync(fd);
}

function asideCopies(dataDir: string): string[] {
  return fs.readdirSync(dataDir).filter((name) => name.startsWith(`${DATABASE_FILE}.corrupt-`) && !/-(wal|shm|journal)$/.test(name));
}

function freshDir(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jielong-recovery-'));
  roots.push(root);
  return path.join(root, 'data');
}

describe('a damaged conversation database', () => {
  it('the app starts, says so, keeps the damaged file once over two starts, and salvage saves what can be read', async () => {
    const dataDir = freshDir();
    const first = start(dataDir);
    await populate(first, 40);
    await stop(first);
    damage(path.join(dataDir, DATABASE_FILE));

    const second = start(dataDir);
    const status = await call(second, 'recovery.status', {});
    expect(status.state).toBe('damaged');
    if (status.state !== 'damaged') throw new Error('unreachable');
    expect(status.keptCopy).not.toBeNull();
    expect(fs.existsSync(status.keptCopy as string)).toBe(true);
    expect(status.databasePath).toBe(path.join(dataDir, DATABASE_FILE));
    const refused = await second.dispatch('conversations.list', {});
    expect(refused.ok ? null : refused.error.code).toBe('storage_corrupt');
    // Settings still answer: the app works around the damage.
    expect((await second.dispatch('settings.get', {})).ok).toBe(true);
    await stop(second);

    const third = start(dataDir);
    expect((await call(third, 'recovery.status', {})).state).toBe('damaged');
    expect(asideCopies(dataDir)).toHaveLength(1);

    const report = await call(third, 'recovery.salvage', {});
    expect(report.conversations.saved).toBeGreaterThan(0);
    expect(report.messages.saved).toBeGreaterThan(0);
    expect(report.messages.saved + report.messages.lost).toBeGreaterThanOrEqual(report.messages.saved);
    expect(report.keptCopy).toBe(status.keptCopy);
    expect((await call(third, 'recovery.status', {})).state).toBe('ok');
    const listed = await call(third, 'conversations.list', { limit: 500 });
    expect(listed.items).toHaveLength(report.conversations.saved);
    // Still one copy of the damaged file, and the working database is sound.
    expect(asideCopies(dataDir)).toHaveLength(1);
    third.storage.checkIntegrity(true);
  });

  it('start fresh gives an empty working database and keeps the damaged file', async () => {
    const dataDir = freshDir();
    const first = start(dataDir);
    await populate(first, 30);
    await stop(first);
    damage(path.join(dataDir, DATABASE_FILE));
    const second = start(dataDir);
    await call(second, 'recovery.startFresh', {});
    expect((await call(second, 'conversations.list', {})).items).toEqual([]);
    await call(second, 'conversations.create', { title: 'after' });
    expect(asideCopies(dataDir)).toHaveLength(1);
  });

  it('backups roll (at most one a day) and one restores after damage', async () => {
    const dataDir = freshDir();
    const first = start(dataDir);
    await populate(first, 30);
    const day = 24 * 60 * 60 * 1000;
    const made = await first.recovery.backupIfDue(Date.now() + day);
    expect(made).not.toBeNull();
    expect(await first.recovery.backupIfDue(Date.now() + day + 1000)).toBeNull();
    first.storage.createConversation({ title: 'after the backup' });
    await stop(first);
    damage(path.join(dataDir, DATABASE_FILE));

    const second = start(dataDir);
    const status = await call(second, 'recovery.status', {});
    if (status.state !== 'damaged') throw new Error(`expected damage, got ${status.state}`);
    expect(status.backups.map((backup) => backup.name)).toContain(made?.name);
    await call(second, 'recovery.restoreBackup', { name: made?.name });
    const titles = (await call(second, 'conversations.list', { limit: 500 })).items.map((c) => c.title);
    expect(titles).toHaveLength(30);
    expect(titles).not.toContain('after the backup');
    const unknown = await second.dispatch('recovery.restoreBackup', { name: '../jielong.sqlite' });
    expect(unknown.ok).toBe(false);
  });

  it('random damage, 20 seeds: the app always starts; when damaged, salvage gives a working database; a second start makes no second copy', async () => {
    const template = freshDir();
    const seeded = start(template);
    await populate(seeded, 40);
    await stop(seeded);
    let damagedSeeds = 0;
    for (let seed = 1; seed <= 20; seed += 1) {
      const dataDir = freshDir();
      fs.mkdirSync(dataDir, { recursive: true });
      fs.copyFileSync(path.join(template, DATABASE_FILE), path.join(dataDir, DATABASE_FILE));
      const file = path.join(dataDir, DATABASE_FILE);
      const pages = fs.statSync(file).size / 4096;
      let state = seed * 2_654_435_761;
      const rand = (): number => ((state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0) / 4_294_967_296);
      const fd = fs.openSync(file, 'r+');
      for (let hit = 0; hit < 3; hit += 1) {
        const page = 1 + Math.floor(rand() * (pages - 1));
        fs.writeSync(fd, Buffer.alloc(16 + Math.floor(rand() * 400), Math.floor(rand() * 256)), 0, undefined, page * 4096 + (rand() < 0.5 ? 0 : Math.floor(rand() * 3000)));
      }
      fs.closeSync(fd);

      const app = start(dataDir); // never throws
      const status = await call(app, 'recovery.status', {});
      if (status.state === 'damaged') {
        damagedSeeds += 1;
        await stop(app);
        const again = start(dataDir);
        expect((await call(again, 'recovery.status', {})).state, `seed ${seed}`).toBe('damaged');
        expect(asideCopies(dataDir), `seed ${seed}: one copy of the damaged file`).toHaveLength(1);
        const report = await call(again, 'recovery.salvage', {});
        const listed = await call(again, 'conversations.list', { limit: 500 });
        expect(listed.items.length, `seed ${seed}`).toBeGreaterThanOrEqual(report.conversations.saved);
        again.storage.checkIntegrity(true);
        await stop(again);
      } else {
        // Damage where nothing lives: the app works as usual.
        expect((await app.dispatch('conversations.list', {})).ok, `seed ${seed}`).toBe(true);
        await stop(app);
      }
    }
    expect(damagedSeeds).toBeGreaterThanOrEqual(10);
  });
});
