// Starts the browser host for one test: the real services (storage in a fresh folder, the
// model host client, the chat and model services) behind the real WebSocket server, serving
// the built renderer from dist/renderer. The model host is the real process running the
// bundled tiny model, or the scripted stand-in (scripted-host.ts). Used by the e2e fixtures
// and by the UI bench.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAppServices, type AppServices } from '../../electron/services/app-services.ts';
import { nodeHostSpawner } from '../../electron/services/node-host-process.ts';
import { startBrowserHost } from '../../electron/server/browser-host.ts';
import { SOURCE_CATALOG_FILE, startTestHub, writeTestCatalog, type TestHub } from '../../electron/test-support/downloads/test-hub.ts';
import { scriptedSpawner, type ScriptedHostOptions } from './scripted-host.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const RENDERER_DIR = path.join(ROOT, 'dist', 'renderer');
export const DEMO_MODEL_DIR = path.join(ROOT, 'resources', 'models', 'jielong-tiny-random');

export interface TestHostOptions {
  /** Where the data lives; a fresh temporary folder when omitted (removed on close). */
  dataDir?: string;
  /** A scripted model host instead of the real one. */
  scripted?: ScriptedHostOptions;
  /** Install a second copy of the demo model under another id and name (to switch models). */
  secondModel?: boolean;
  /** Load the first model before the page opens (default true). */
  loadModel?: boolean;
  /**
   * A local hub serving the generated tiny model, set as the mirror, with a catalog of that
   * model (recommended) in place of the shipped one; a throughput limit makes progress visible.
   */
  hub?: { bytesPerSecond?: number | null };
  /** Show the first-run screen (a fresh install); by default it counts as answered. */
  firstRun?: boolean;
  /** The bundled model folder to install (default: the tiny random model). */
  bundledModelDir?: string;
}

export interface TestHost {
  url: string;
  services: AppServices;
  dataDir: string;
  /** The local hub, when `hub` was asked for. */
  hub: TestHub | null;
  /** Kills the model host process the way a crash would (SIGKILL, or the scripted host's exit). */
  killModelHost(): void;
  close(): Promise<void>;
}

export const SECOND_MODEL = { id: 'jielong-tiny-random-b', name: 'Jielong tiny B (second copy)' };

/** A models folder with the demo model, and optionally a second copy under another id. */
function modelsFolder(root: string, second: boolean, bundled = DEMO_MODEL_DIR): string {
  const models = path.join(root, 'models');
  mkdirSync(models, { recursive: true });
  cpSync(bundled, path.join(models, `a-${path.basename(bundled)}`), { recursive: true });
  if (second) {
    const copy = path.join(models, 'b-jielong-tiny-random');
    cpSync(DEMO_MODEL_DIR, copy, { recursive: true });
    writeFileSync(
      path.join(copy, 'jielong.json'),
      JSON.stringify({ id: SECOND_MODEL.id, name: SECOND_MODEL.name, description: 'The demo model again, to try switching models.', dtypes: ['fp32'], contextLength: 2048 }),
    );
  }
  return models;
}

export async function startTestHost(options: TestHostOptions = {}): Promise<TestHost> {
  if (!existsSync(path.join(RENDERER_DIR, 'index.html'))) throw new Error('dist/renderer is not built: run npm run build:renderer');
  const ownDir = options.dataDir ? null : mkdtempSync(path.join(os.tmpdir(), 'jielong-e2e-'));
  const root = options.dataDir ?? ownDir!;
  const dataDir = path.join(root, 'data');
  const hub = options.hub ? await startTestHub() : null;
  if (hub) hub.hub.throttle(options.hub?.bytesPerSecond ?? null);
  const catalogFile = hub ? await writeTestCatalog(hub.hub, path.join(root, 'catalog.json'), ['fp32', 'q4']) : undefined;
  const services = createAppServices({
    dataDir,
    bundledModelsDir: modelsFolder(root, options.secondModel ?? false, options.bundledModelDir),
    spawnHost: options.scripted ? scriptedSpawner(options.scripted) : nodeHostSpawner(),
    models: { restartBackoffMs: [100, 400, 1000, 2000] },
    // The shipped catalog unless the local hub's: the models folder here is a temporary one.
    catalogFile: catalogFile ?? SOURCE_CATALOG_FILE,
  });
  if (hub) services.settings.update({ hubHost: hub.hub.url });
  if (!options.firstRun) services.settings.update({ firstRunDone: true });
  const browser = await startBrowserHost({ dispatch: services.dispatch, events: services.events, rendererDir: RENDERER_DIR, port: 0 });
  if (options.loadModel ?? true) await services.loadDefaultModel();
  return {
    url: browser.url,
    services,
    dataDir,
    hub,
    killModelHost() {
      const pid = services.host.pid;
      if (pid === undefined) throw new Error('the model host is not running');
      if (options.scripted) {
        // The scripted host lives in this process: end it the way an exit would look.
        (services.host as unknown as { process: { kill(): void } | null }).process?.kill();
      } else {
        process.kill(pid, 'SIGKILL');
      }
    },
    async close() {
      await browser.close();
      await services.close();
      await hub?.cleanup();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
