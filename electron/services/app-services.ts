// Everything behind the contract, put together once: storage, the model host client, the
// services and the dispatch both transports use. The Electron main process and the browser
// host each call createAppServices with their own way of starting the model host.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Storage } from '../storage/index.ts';
import { createDispatch, createHandlers, type Dispatch } from './api.ts';
import { ChatService } from './chat-service.ts';
import { EventBus } from './event-bus.ts';
import { ModelHostClient, type SpawnHost } from './model-host-client.ts';
import { ManifestFolderSource, ModelService, type ModelServiceOptions, type ModelSource } from './model-service.ts';
import { SettingsService } from './settings-service.ts';

export interface AppServicesOptions {
  /** The user's data: the database and settings. */
  dataDir: string;
  /** Folder of bundled models (each with a jielong.json manifest). */
  bundledModelsDir: string;
  spawnHost: SpawnHost;
  /** Replaces the bundled-models source (the download registry). */
  modelSource?: ModelSource;
  models?: ModelServiceOptions;
}

export interface AppServices {
  storage: Storage;
  events: EventBus;
  host: ModelHostClient;
  settings: SettingsService;
  models: ModelService;
  chat: ChatService;
  dispatch: Dispatch;
  /** Loads the first available model, if none is loaded; resolves even if that fails (the status says why). */
  loadDefaultModel(): Promise<void>;
  /** Stops any answer (kept as interrupted), stops the host, closes the database. */
  close(): Promise<void>;
}

export const DATABASE_FILE = 'jielong.sqlite';

export function createAppServices(options: AppServicesOptions): AppServices {
  mkdirSync(options.dataDir, { recursive: true });
  const storage = Storage.open(path.join(options.dataDir, DATABASE_FILE));
  const events = new EventBus();
  const host = new ModelHostClient(options.spawnHost);
  const settings = new SettingsService(options.dataDir);
  const models = new ModelService(host, options.modelSource ?? new ManifestFolderSource(options.bundledModelsDir, 'bundled'), events, options.models);
  const chat = new ChatService(storage, host, models, settings, events);
  const dispatch = createDispatch(createHandlers({ storage, chat, models, settings }));
  return {
    storage,
    events,
    host,
    settings,
    models,
    chat,
    dispatch,
    async loadDefaultModel() {
      if (models.getStatus().state !== 'none') return;
      const [first] = await models.list();
      if (first) await models.load(first.id).catch(() => undefined);
    },
    async close() {
      const active = chat.activeAnswer;
      if (active) chat.stop({ conversationId: active.conversationId });
      await chat.idle();
      host.stop();
      storage.close();
    },
  };
}
