// Everything behind the contract, put together once: storage, the model host client, the
// services and the dispatch both transports use. The Electron main process and the browser
// host each call createAppServices with their own way of starting the model host.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Storage } from '../storage/index.ts';
import { backupsDirIn, probeWritable, RecoveryService } from './recovery-service.ts';
import { createDispatch, createHandlers, type Dispatch } from './api.ts';
import { ChatService } from './chat-service.ts';
import { EventBus } from './event-bus.ts';
import type { ModelHostClient, SpawnHost } from './model-host-client.ts';
import { catalogFileIn, loadCatalog } from './downloads/catalog.ts';
import { DownloadManager, type DownloadManagerOptions } from './downloads/download-manager.ts';
import { ModelRegistry } from './model-registry.ts';
import type { ModelService, ModelServiceOptions } from './model-service.ts';
import { appBackend, OpenAiApiController } from './openai/api-controller.ts';
import type { RemoteOptions } from './remote-engine.ts';
import { RemoteModelStore, type SecretCodec } from './remote-models.ts';
import { RoutingHostClient, RoutingModelService } from './remote-routing.ts';
import { SettingsService } from './settings-service.ts';
import { PresetService } from './preset-service.ts';
import { modelSetupIn } from './model-chat-template.ts';
import { SystemService, type SystemServiceOptions } from './system-service.ts';

export interface AppServicesOptions {
  /** The user's data: the database and settings. */
  dataDir: string;
  /** Folder of bundled models (each with a jielong.json manifest). */
  bundledModelsDir: string;
  /** Downloaded and imported models; default: <dataDir>/models. */
  modelsDir?: string;
  spawnHost: SpawnHost;
  models?: ModelServiceOptions;
  /** Overrides for the downloader (tests: the network, timings). */
  downloads?: Partial<DownloadManagerOptions>;
  /** The catalog file; default: catalog/models.json beside the bundled models folder. */
  catalogFile?: string;
  /** The shell's native folder chooser (Electron); the browser host has none. */
  chooseFolder?: SystemServiceOptions['chooseFolder'];
  /** Tests: the data folder's write check (null: writable; else an errno code). */
  probeWritable?: (folder: string) => string | null;
  /** Tests: memory and disk figures of another machine. */
  system?: Pick<SystemServiceOptions, 'memory' | 'freeBytes'>;
  /** Tests: the OpenAI-compatible API's queue bound and body limit. */
  openai?: { maxQueue?: number; maxBodyBytes?: number };
  /** How remote models' API keys are kept at rest (Electron: safeStorage); default: a file only the user can read. */
  secrets?: SecretCodec;
  /** Tests: remote engines' stall timeout. */
  remote?: RemoteOptions;
}

export interface AppServices {
  storage: Storage;
  recovery: RecoveryService;
  events: EventBus;
  host: ModelHostClient;
  settings: SettingsService;
  models: ModelService;
  registry: ModelRegistry;
  downloads: DownloadManager;
  chat: ChatService;
  /** The OpenAI-compatible API server, started when the settings turn it on. */
  openai: OpenAiApiController;
  dispatch: Dispatch;
  /** Loads the first available model, if none is loaded; resolves even if that fails (the status says why). */
  loadDefaultModel(): Promise<void>;
  /** Stops any answer (kept as interrupted), stops the host, closes the database. */
  close(): Promise<void>;
}

export const DATABASE_FILE = 'jielong.sqlite';

export function createAppServices(options: AppServicesOptions): AppServices {
  // A data folder that cannot be written is said so at start (not with each failed write);
  // a damaged database does not stop the app: the recovery screen offers what to do.
  const unwritableCode = (options.probeWritable ?? probeWritable)(options.dataDir);
  const unwritable = unwritableCode === null ? null : { folder: options.dataDir, code: unwritableCode };
  const recovery = new RecoveryService(path.join(options.dataDir, DATABASE_FILE), { backupsDir: backupsDirIn(options.dataDir), unwritable });
  const storage = recovery.storage;
  const events = new EventBus();
  // Answers come from the local model host, or from a remote engine while a remote model is chosen.
  const routedHost = new RoutingHostClient(options.spawnHost, options.remote);
  const host: ModelHostClient = routedHost;
  const remotes = new RemoteModelStore(options.dataDir, options.secrets, options.remote);
  const settings = new SettingsService(options.dataDir);
  const modelsDir = options.modelsDir ?? path.join(options.dataDir, 'models');
  if (unwritable === null) mkdirSync(modelsDir, { recursive: true });
  // The loaded model cannot be deleted; `models` is only read when a deletion is asked for.
  const registry: ModelRegistry = new ModelRegistry({ modelsDir, bundledDirs: [options.bundledModelsDir], isInUse: (id): boolean => models.getStatus().modelId === id });
  const models: ModelService = new RoutingModelService(routedHost, registry, events, options.models, remotes);
  // Read on demand: nothing about models touches the disk or the network at start-up.
  let catalog: ReturnType<typeof loadCatalog> | null = null;
  const getCatalog = (): ReturnType<typeof loadCatalog> => (catalog ??= loadCatalog(options.catalogFile ?? catalogFileIn(path.dirname(options.bundledModelsDir))));
  const downloads = new DownloadManager({
    modelsDir,
    isIdTaken: (id) => registry.has(id),
    hubHost: () => settings.get().hubHost,
    catalog: getCatalog,
    ...options.downloads,
  });
  downloads.on((event) => {
    if (event.type === 'installed') void registry.notifyInstalled(event.modelId).catch(() => undefined);
    events.emit('downloads.event', event);
  });
  registry.on((event) => events.emit('models.changed', event));
  const presets = new PresetService(storage, settings, events);
  const chat = new ChatService(storage, host, models, settings, events, { findPreset: (id) => presets.find(id), modelSetup: (info) => modelSetupIn(info.modelDir) });
  const system = new SystemService({ modelsDir, hubHost: () => downloads.hubHost(), ...options.system, ...(options.chooseFolder ? { chooseFolder: options.chooseFolder } : {}) });
  const openai = new OpenAiApiController(settings, appBackend({ storage, host, models, registry, settings, chat }), options.openai);
  chat.shareHostWith(() => openai.busy);
  const openaiStarted = openai.apply();
  const dispatch = createDispatch(createHandlers({ storage, chat, models, settings, registry, downloads, catalog: getCatalog, system, openai, recovery, remotes, presets, events }));
  recovery.startBackups();
  return {
    storage,
    recovery,
    events,
    host,
    settings,
    models,
    registry,
    downloads,
    chat,
    openai,
    dispatch,
    async loadDefaultModel() {
      if (models.getStatus().state !== 'none') return;
      const chosen = (await registry.getDefault()) ?? (await registry.list())[0];
      if (chosen) await models.load(chosen.id).catch(() => undefined);
    },
    async close() {
      const active = chat.activeAnswer;
      if (active) chat.stop({ conversationId: active.conversationId });
      await chat.idle();
      await openaiStarted;
      await openai.close();
      await downloads.close();
      host.stop();
      await recovery.close();
    },
  };
}
