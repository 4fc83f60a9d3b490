// Keeps the OpenAI-compatible API server in step with the settings: off by default, started
// when the user turns it on (or for one run from the command line), restarted when its port,
// network access or key change. The API key is generated here, returned once, and only its
// hash is kept.
import type { ApiServerSettings, ApiServerStatus } from '../../shared/openai-api-types.ts';
import type { Storage } from '../../storage/index.ts';
import type { ChatService } from '../chat-service.ts';
import type { ModelHostClient } from '../model-host-client.ts';
import type { ModelRegistry } from '../model-registry.ts';
import type { ModelService } from '../model-service.ts';
import type { SettingsService } from '../settings-service.ts';
import { generateApiKey, hashApiKey, startOpenAiServer, type OpenAiBackend, type OpenAiServer, type StoredExchange } from './api-server.ts';
import { RequestLog } from './request-log.ts';

export interface AppParts {
  storage: Storage;
  host: ModelHostClient;
  models: ModelService;
  registry: ModelRegistry;
  settings: SettingsService;
  chat: ChatService;
}

/** The API's view of the app: installed models, the model host, and the chat it shares the host with. */
export function appBackend({ storage, host, models, registry, settings, chat }: AppParts): OpenAiBackend {
  return {
    listModels: async () => (await registry.list()).map((m) => ({ id: m.id, name: m.name, contextLength: m.contextLength, installedAt: m.installedAt })),
    status: () => models.getStatus(),
    load: (modelId) => models.load(modelId),
    generate: (options) => host.generate(options),
    // The app's defaults under the loaded model's own recommendation, as in the app's chats.
    defaults: async () => ({ ...settings.get().defaultSampling, ...(await chat.loadedModelDefaults()) }),
    chat: { busy: () => chat.busy, idle: () => chat.idle() },
    store: (exchange) => storeExchange(storage, exchange),
  };
}

/** An API chat as a conversation: its messages, then the answer with its stats. */
function storeExchange(storage: Storage, exchange: StoredExchange): void {
  const system = exchange.messages.filter((m) => m.role === 'system').map((m) => m.content);
  const firstUser = exchange.messages.find((m) => m.role === 'user')?.content.trim() ?? '';
  const conversation = storage.createConversation({
    title: `API: ${firstUser.slice(0, 60) || exchange.model}`,
    modelId: exchange.model,
    systemPrompt: system.length > 0 ? system.join('\n\n') : null,
  });
  let parentId: string | null = null;
  for (const message of exchange.messages) {
    if (message.role === 'user') parentId = storage.appendUserMessage({ conversationId: conversation.id, content: message.content, parentId }).id;
    else if (message.role === 'assistant') {
      const writer = storage.beginAssistantMessage({ conversationId: conversation.id, parentId, modelId: exchange.model });
      writer.append(message.content);
      parentId = writer.finish({ status: 'complete' }).id;
    }
  }
  const writer = storage.beginAssistantMessage({ conversationId: conversation.id, parentId, modelId: exchange.model, sampling: exchange.params, seed: exchange.stats.seed });
  writer.append(exchange.answer);
  writer.finish({ status: exchange.interrupted ? 'interrupted' : 'complete', stats: { ...exchange.stats } });
}

/** Where the server listens: from the settings, or a one-run override from the command line. */
interface Running {
  port: number;
  allowNetwork: boolean;
}

export class OpenAiApiController {
  private server: OpenAiServer | null = null;
  private running: Running | null = null;
  private lastError: string | null = null;
  private readonly log = new RequestLog();
  /** Set by `startForThisRun`: the command line's choice wins over the settings until close. */
  private override: Running | null = null;
  private overrideKeyHash: string | null = null;
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private readonly settings: SettingsService,
    private readonly backend: OpenAiBackend,
    private readonly options: { host?: string; maxQueue?: number; maxBodyBytes?: number } = {},
  ) {}

  private get api(): ApiServerSettings {
    return this.settings.get().api;
  }

  /** An API request holds the model host now (the chat must wait). */
  get busy(): boolean {
    return this.server?.gate.busy ?? false;
  }

  /** API requests waiting for their turn. */
  get queued(): number {
    return this.server?.gate.queued ?? 0;
  }

  status(): ApiServerStatus {
    return {
      running: this.server !== null,
      baseUrl: this.server?.baseUrl ?? null,
      error: this.lastError,
      hasKey: this.keyHash() !== null,
      log: this.log.list(),
    };
  }

  /** Starts, restarts or stops the server to match the settings (after every settings change). */
  apply(): Promise<void> {
    const next = this.applying.then(() => this.applyNow());
    this.applying = next.catch(() => undefined);
    return next;
  }

  /** A new API key: stored as its hash, returned this once. The server restarts with it. */
  async newKey(): Promise<{ key: string }> {
    const key = generateApiKey();
    this.settings.update({ api: { ...this.api, keyHash: hashApiKey(key) } });
    await this.apply();
    return { key };
  }

  /** `npm run serve -- --api`: serves for this run with a fresh key (printed), whatever the settings say. */
  async startForThisRun(choice: { port: number; allowNetwork: boolean }): Promise<{ baseUrl: string; key: string }> {
    const key = generateApiKey();
    this.override = { port: choice.port, allowNetwork: choice.allowNetwork };
    this.overrideKeyHash = hashApiKey(key);
    await this.apply();
    if (!this.server) throw new Error(this.lastError ?? 'The API server did not start');
    return { baseUrl: this.server.baseUrl, key };
  }

  async close(): Promise<void> {
    this.override = null;
    this.overrideKeyHash = null;
    await this.applying;
    await this.stop();
  }

  private async applyNow(): Promise<void> {
    const api = this.api;
    const wanted: Running | null = this.override ?? (api.enabled ? { port: api.port, allowNetwork: api.allowNetwork } : null);
    // Network access without a key: refused before anything listens, whatever else changed.
    if (wanted?.allowNetwork && this.keyHash() === null) {
      await this.stop();
      this.lastError = 'Network access needs an API key: refusing to serve the API without an API key. Create a key first.';
      return;
    }
    if (wanted && this.running && sameRunning(wanted, this.running)) return;
    await this.stop();
    this.lastError = null;
    if (!wanted) return;
    try {
      this.server = await startOpenAiServer({
        backend: this.backend,
        port: wanted.port,
        allowNetwork: wanted.allowNetwork,
        // Read per request: a new key or origin list applies without a restart.
        keyHash: () => this.keyHash(),
        corsOrigins: () => this.api.corsOrigins,
        log: this.log,
        storeConversations: () => this.api.storeConversations,
        ...(this.options.host ? { host: this.options.host } : {}),
        ...(this.options.maxQueue ? { maxQueue: this.options.maxQueue } : {}),
        ...(this.options.maxBodyBytes ? { maxBodyBytes: this.options.maxBodyBytes } : {}),
      });
      this.running = wanted;
    } catch (error) {
      const code = (error as { code?: string }).code;
      this.lastError = code === 'EADDRINUSE' ? `Port ${wanted.port} is already in use: choose another port for the API.` : error instanceof Error ? error.message : String(error);
    }
  }

  /** The key asked for now: this run's (command line), else the settings'. */
  private keyHash(): string | null {
    return this.overrideKeyHash ?? this.api.keyHash;
  }

  private async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.running = null;
    await server?.close();
  }
}

function sameRunning(a: Running, b: Running): boolean {
  return a.port === b.port && a.allowNetwork === b.allowNetwork;
}
