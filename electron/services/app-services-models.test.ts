// Models through the contract: the catalog, a download from a local hub set as the mirror in
// the settings, the registry listing it only once installed, loading it and chatting with it,
// and deletion guarded by confirmation and by use.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallName, CallOutput } from '../shared/contract.ts';
import type { DownloadEvent } from '../shared/model-registry-types.ts';
import { createAppServices, type AppServices } from './app-services.ts';
import { startTestHub, tempDir, TEST_CATALOG_ID, TINY_REPO, writeTestCatalog, type TestHub } from '../test-support/downloads/test-hub.ts';
import { nodeHostSpawner } from './node-host-process.ts';

const BUNDLED_MODELS = fileURLToPath(new URL('../../resources/models', import.meta.url));

describe('models through the contract', () => {
  let hub: TestHub;
  let data: { dir: string; cleanup(): Promise<void> };
  let app: AppServices;
  const downloadEvents: DownloadEvent[] = [];

  async function call<N extends CallName>(name: N, input: unknown): Promise<CallOutput<N>> {
    const result = await app.dispatch(name, input);
    if (!result.ok) throw Object.assign(new Error(`${name}: ${result.error.code}: ${result.error.message}`), { code: result.error.code });
    return result.value as CallOutput<N>;
  }

  beforeAll(async () => {
    hub = await startTestHub();
    data = await tempDir('jielong-models-api-');
    app = createAppServices({ dataDir: data.dir, bundledModelsDir: BUNDLED_MODELS, spawnHost: nodeHostSpawner(), downloads: { progressIntervalMs: 0 } });
    app.events.subscribe((name, payload) => {
      if (name === 'downloads.event') downloadEvents.push(payload as DownloadEvent);
    });
  });
  afterAll(async () => {
    await app.close();
    await hub.cleanup();
    await data.cleanup();
  });

  it('lists the bundled models (the poet demo first) and the catalog, offline', async () => {
    const models = await call('models.list', {});
    expect(models.map((m) => m.id)).toEqual(['jielong-poet', 'jielong-tiny-random']);
    expect(models.map((m) => m.removable)).toEqual([false, false]);
    const catalog = await call('catalog.list', {});
    expect(catalog.entries.length).toBeGreaterThan(3);
    expect(hub.hub.connections).toBe(0);
  });

  it('refuses a malformed repo id and a non-http hub host', async () => {
    expect(await app.dispatch('downloads.inspect', { repo: 'not a repo' })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/owner\/name/) } });
    expect(await app.dispatch('settings.update', { hubHost: 'javascript:alert(1)' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('downloads from the mirror in the settings, lists the model only once installed, loads it and chats', async () => {
    await call('settings.update', { hubHost: hub.hub.url });
    const inspection = await call('downloads.inspect', { repo: TINY_REPO });
    expect(inspection.repo).toBe(TINY_REPO);
    const started = await call('downloads.start', { spec: { source: 'hub', repo: TINY_REPO, dtype: 'q4' } });
    expect((await call('models.list', {})).map((m) => m.id)).not.toContain(started.modelId);
    const installed = await new Promise<DownloadEvent>((resolve) => {
      const poll = setInterval(() => {
        const event = downloadEvents.find((e) => e.type === 'installed' || (e.type === 'state' && e.download.state === 'failed'));
        if (event) {
          clearInterval(poll);
          resolve(event);
        }
      }, 10);
    });
    expect(installed.type).toBe('installed');
    expect(downloadEvents.some((e) => e.type === 'progress')).toBe(true);
    const models = await call('models.list', {});
    const model = models.find((m) => m.id === started.modelId)!;
    expect(model.dtypes).toEqual(['q4']);

    const status = await call('models.load', { modelId: model.id });
    expect(status).toMatchObject({ state: 'ready', modelId: model.id });
    const conversation = await call('conversations.create', { sampling: { maxNewTokens: 8 } });
    const answer = await call('chat.send', { conversationId: conversation.id, content: 'hello' });
    await app.chat.idle();
    const stored = app.storage.getMessage(answer.assistantMessage.id);
    expect(stored.status).toBe('complete');
    expect(stored.modelId).toBe(model.id);

    // In use: not deletable; without confirmation: not deleted; then deleted.
    expect(await app.dispatch('models.remove', { id: model.id, confirm: true })).toMatchObject({ ok: false, error: { code: 'in_use' } });
    await call('models.load', { modelId: 'jielong-tiny-random' });
    expect(await app.dispatch('models.remove', { id: model.id })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    const plan = await call('models.planRemoval', { id: model.id });
    expect(plan.sizeBytes).toBeGreaterThan(0);
    await call('models.remove', { id: model.id, confirm: true });
    expect((await call('models.list', {})).map((m) => m.id)).toEqual(['jielong-poet', 'jielong-tiny-random']);
  });

  it('imports a local model folder, and refuses one that is not a model', async () => {
    const imported = await call('models.import', { path: hub.modelDir, name: 'Imported tiny' });
    expect(imported.name).toBe('Imported tiny');
    expect((await call('models.list', {})).map((m) => m.id)).toContain(imported.id);
    const refused = await app.dispatch('models.import', { path: path.join(hub.root, 'nothing-here') });
    expect(refused.ok).toBe(false);
  });

  it('downloads the catalog’s recommended model (the catalog read from disk on first use) and lists it', async () => {
    const catalogFile = await writeTestCatalog(hub.hub, path.join(data.dir, 'test-catalog.json'));
    const other = await tempDir('jielong-models-catalog-');
    const withCatalog = createAppServices({ dataDir: other.dir, bundledModelsDir: BUNDLED_MODELS, spawnHost: nodeHostSpawner(), catalogFile, downloads: { progressIntervalMs: 0 } });
    try {
      const catalog = await withCatalog.dispatch('catalog.list', {});
      expect(catalog).toMatchObject({ ok: true, value: { recommended: { catalogId: TEST_CATALOG_ID, dtype: 'q4' } } });
      await withCatalog.dispatch('settings.update', { hubHost: hub.hub.url });
      const installed = new Promise<string>((resolve) => {
        withCatalog.events.subscribe((name, payload) => {
          const event = payload as DownloadEvent;
          if (name === 'downloads.event' && event.type === 'installed') resolve(event.modelId);
        });
      });
      const started = await withCatalog.dispatch('downloads.start', { spec: { source: 'catalog', catalogId: TEST_CATALOG_ID, dtype: 'q4' } });
      expect(started).toMatchObject({ ok: true, value: { modelId: `${TEST_CATALOG_ID}-q4`, repo: TINY_REPO } });
      const modelId = await installed;
      const listed = await withCatalog.dispatch('models.list', {});
      expect(listed).toMatchObject({ ok: true, value: expect.arrayContaining([expect.objectContaining({ id: modelId, origin: expect.objectContaining({ catalogId: TEST_CATALOG_ID }) })]) });
    } finally {
      await withCatalog.close();
      await other.cleanup();
    }
  });

  it('tells memory and disk figures, and says the browser host has no folder chooser', async () => {
    const info = await call('system.info', {});
    expect(info.totalMemoryBytes).toBeGreaterThan(info.freeMemoryBytes);
    expect(info.freeDiskBytes).toBeGreaterThan(0);
    expect(info.modelsDir).toBe(path.join(data.dir, 'models'));
    expect(info.canChooseFolder).toBe(false);
    expect(info.hubHost).toBe(hub.hub.url);
    expect(await app.dispatch('system.chooseFolder', {})).toMatchObject({ ok: false, error: { code: 'unsupported', message: expect.stringMatching(/type the folder path/) } });
  });
});

describe('the shell pieces of the models screen', () => {
  it('opens the folder chooser the shell gives, and lists a download an earlier run left on disk', async () => {
    const hub = await startTestHub();
    const data = await tempDir('jielong-models-restart-');
    const titles: string[] = [];
    const options = { dataDir: data.dir, bundledModelsDir: BUNDLED_MODELS, spawnHost: nodeHostSpawner(), downloads: { progressIntervalMs: 0 } };
    let first: AppServices | null = createAppServices({ ...options, chooseFolder: async (title) => (titles.push(title), '/picked/folder') });
    try {
      expect(await first.dispatch('system.info', {})).toMatchObject({ ok: true, value: { canChooseFolder: true } });
      expect(await first.dispatch('system.chooseFolder', { title: 'Import a model' })).toEqual({ ok: true, value: { path: '/picked/folder' } });
      expect(titles).toEqual(['Import a model']);
      hub.hub.throttle(64 * 1024);
      await first.dispatch('settings.update', { hubHost: hub.hub.url });
      const started = await first.dispatch('downloads.start', { spec: { source: 'hub', repo: TINY_REPO, dtype: 'fp32' } });
      expect(started.ok).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await first.close();
      first = null;
      const connections = hub.hub.connections;
      const second = createAppServices(options);
      try {
        const listed = await second.dispatch('downloads.list', {});
        expect(listed).toMatchObject({ ok: true, value: [{ state: 'paused', interrupted: true, repo: TINY_REPO }] });
        // Listing it asked nothing of the network.
        expect(hub.hub.connections).toBe(connections);
      } finally {
        await second.close();
      }
    } finally {
      await first?.close();
      await hub.cleanup();
      await data.cleanup();
    }
  });
});
