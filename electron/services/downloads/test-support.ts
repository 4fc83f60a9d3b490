// Shared by the download and registry tests: a generated tiny model served by the local hub,
// temporary models folders, and waiting for download events.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeModel } from '../../../scripts/make-model/make-model.ts';
import { HubServer } from '../../../scripts/testing/hub-server.ts';
import type { DownloadEvent, DownloadInfo } from '../../shared/model-registry-types.ts';
import type { DownloadManager } from './download-manager.ts';

export const TINY_REPO = 'jielong-test/tiny-random';

/** The catalog in this source tree. */
export const SOURCE_CATALOG_FILE = fileURLToPath(new URL('../../../resources/catalog/models.json', import.meta.url));

export interface TestHub {
  hub: HubServer;
  modelDir: string;
  root: string;
  cleanup(): Promise<void>;
}

/** A hub serving the tiny model (fp32, q8, q4) as TINY_REPO. */
export async function startTestHub(): Promise<TestHub> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'jielong-hub-'));
  const modelDir = path.join(root, 'tiny');
  await makeModel({ preset: 'tiny', dtype: ['fp32', 'q8', 'q4'], outDir: modelDir });
  const hub = await HubServer.start();
  await hub.addRepoFromFolder(TINY_REPO, modelDir, { exclude: (f) => f === 'jielong.json' });
  return {
    hub,
    modelDir,
    root,
    async cleanup() {
      await hub.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Resolves with the first event that matches, or rejects after `timeoutMs`. */
export function waitForEvent<T extends DownloadEvent>(manager: DownloadManager, match: (event: DownloadEvent) => event is T, timeoutMs?: number): Promise<T>;
export function waitForEvent(manager: DownloadManager, match: (event: DownloadEvent) => boolean, timeoutMs?: number): Promise<DownloadEvent>;
export function waitForEvent(manager: DownloadManager, match: (event: DownloadEvent) => boolean, timeoutMs = 30_000): Promise<DownloadEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching download event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = manager.on((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

/** Waits until the download reaches one of `states` (subscribed before looking, so no change is missed). */
export function waitForState(manager: DownloadManager, id: string, states: DownloadInfo['state'][], timeoutMs = 30_000): Promise<DownloadInfo> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`download ${id} did not reach ${states.join('/')} within ${timeoutMs} ms (it is ${manager.get(id).state})`));
    }, timeoutMs);
    const off = manager.on((event) => {
      if (event.type === 'state' && event.download.id === id && states.includes(event.download.state)) {
        clearTimeout(timer);
        off();
        resolve(event.download);
      }
    });
    const now = manager.get(id);
    if (states.includes(now.state)) {
      clearTimeout(timer);
      off();
      resolve(now);
    }
  });
}
