// Offline by default: building the registry, the catalog and the download manager, finding
// interrupted downloads, listing models, then loading a model and chatting with it, opens no
// connection at all, in this process or in the model host. The guard is shown to catch the
// downloader's own requests and a child's fetch, so a silent guard cannot pass for offline.
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../../scripts/testing/model-fixtures.ts';
import { ModelHostClient } from '../model-host-client.ts';
import { ModelRegistry } from '../model-registry.ts';
import { nodeHostSpawner } from '../node-host-process.ts';
import { loadCatalog } from './catalog.ts';
import { DownloadManager } from './download-manager.ts';
import { installNetworkGuard, NET_GUARD_LOG_ENV } from './network-guard.ts';
import { SOURCE_CATALOG_FILE, tempDir } from '../../test-support/downloads/test-hub.ts';

const GUARD_MODULE = fileURLToPath(new URL('./network-guard.ts', import.meta.url));

describe('no network request unless the user asks', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let guardServer: http.Server;
  let guardUrl: string;
  let guardConnections = 0;

  beforeAll(async () => {
    work = await tempDir('jielong-offline-');
    // Stands where the hub would be: any connection to it is a request the app made.
    guardServer = http.createServer((_req, res) => res.writeHead(503).end());
    guardServer.on('connection', () => guardConnections++);
    await new Promise<void>((resolve) => guardServer.listen(0, '127.0.0.1', resolve));
    guardUrl = `http://127.0.0.1:${(guardServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => guardServer.close(() => resolve()));
    await work.cleanup();
  });

  it('at start-up and while chatting, in this process and in the model host', async () => {
    const hostLog = path.join(work.dir, 'host-connections.log');
    const guard = installNetworkGuard();
    const client = new ModelHostClient(
      nodeHostSpawner({ execArgv: ['--import', GUARD_MODULE], env: { ...process.env, [NET_GUARD_LOG_ENV]: hostLog } }),
    );
    try {
      // Start-up: everything the app builds and reads before the user does anything.
      const modelsDir = path.join(work.dir, 'models');
      const registry = new ModelRegistry({ modelsDir, bundledDirs: [path.dirname(DEMO_MODEL_DIR)] });
      const catalog = await loadCatalog(SOURCE_CATALOG_FILE);
      const downloads = new DownloadManager({ modelsDir, catalog, hubHost: guardUrl, isIdTaken: (id) => registry.has(id) });
      await downloads.restore();
      expect(downloads.list()).toEqual([]);
      expect(catalog.entries.length).toBeGreaterThan(0);
      const models = await registry.list();
      // Which bundled model is the default is not this test's matter; chatting uses the tiny one.
      expect(await registry.getDefault()).not.toBeNull();
      await registry.cleanUp();

      // Chatting: load the model and answer twice.
      await client.start();
      const { modelDir, dtype } = await registry.resolve('jielong-tiny-random');
      await client.load({ modelDir, dtype });
      for (const content of ['Hello', '再来一次']) {
        const stats = await client.generate({ messages: [{ role: 'user', content }], params: { temperature: 0.7, topK: 40, topP: 0.95, minP: 0, repetitionPenalty: 1.1, maxNewTokens: 8, seed: 1 } }).done;
        expect(stats.decodeTokens).toBeGreaterThan(0);
      }
      expect(models.map((model) => model.id)).toContain('jielong-tiny-random');
      expect(models.every((model) => model.origin.kind === 'bundled')).toBe(true);
      await downloads.close();
    } finally {
      client.stop();
      guard.uninstall();
    }
    expect(guard.attempts).toEqual([]);
    expect(guardConnections).toBe(0);
    expect(await readFile(hostLog, 'utf8').catch(() => '')).toBe('');
  });

  it('the guard does see the downloader asking the hub (a user action) and a fetch in a child', async () => {
    const guard = installNetworkGuard();
    try {
      const downloads = new DownloadManager({ modelsDir: path.join(work.dir, 'models-2'), hubHost: guardUrl });
      await expect(downloads.inspect('someone/some-model')).rejects.toThrow(/HTTP 503/);
    } finally {
      guard.uninstall();
    }
    expect(guard.attempts.length).toBeGreaterThan(0);
    expect(guardConnections).toBeGreaterThan(0);

    const childLog = path.join(work.dir, 'child.log');
    await rm(childLog, { force: true });
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--import', GUARD_MODULE, '-e', `fetch(${JSON.stringify(guardUrl)}).catch(() => {}).finally(() => process.exit(0))`], {
        env: { ...process.env, [NET_GUARD_LOG_ENV]: childLog },
        stdio: 'ignore',
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    expect(await readFile(childLog, 'utf8')).toMatch(/127\.0\.0\.1:\d+/);
  });
});
