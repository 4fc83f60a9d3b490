// The contract's calls bound to the services, and the one entry both transports use:
// `dispatch(name, input)` validates the name and the input against the contract, runs the
// handler, and always answers a CallResult — a refusal or a failure is a typed error, never
// an exception that escapes into Electron's IPC or the WebSocket.
import { z } from 'zod';
import type { Catalog } from '../shared/model-registry-types.ts';
import { calls, type ApiErrorShape, type CallName, type CallOutput, type CallResult, type EventPayload } from '../shared/contract.ts';
import type { EventBus } from './event-bus.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import { USER_ERROR_DETAILS, userErrorCodeFor } from '../shared/user-errors.ts';
import { describeIssues } from '../shared/model-host-protocol.ts';
import { StorageError, type Storage } from '../storage/index.ts';
import type { ChatService } from './chat-service.ts';
import type { DownloadManager } from './downloads/download-manager.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { ModelService } from './model-service.ts';
import type { RecoveryService } from './recovery-service.ts';
import type { OpenAiApiController } from './openai/api-controller.ts';
import type { RemoteModelStore } from './remote-models.ts';
import type { SettingsService } from './settings-service.ts';
import type { SystemService } from './system-service.ts';
import type { PresetService } from './preset-service.ts';
import { presetAndTemplateHandlers } from './preset-template-calls.ts';

export interface Services {
  storage: Storage;
  chat: ChatService;
  models: ModelService;
  settings: SettingsService;
  registry: ModelRegistry;
  downloads: DownloadManager;
  catalog: () => Promise<Catalog>;
  system: SystemService;
  openai: OpenAiApiController;
  recovery: RecoveryService;
  remotes: RemoteModelStore;
  presets: PresetService;
  /** Where conversation changes are announced to every window and tab (optional in tests). */
  events?: EventBus;
}

type Handlers = { [N in CallName]: (input: z.output<(typeof calls)[N]>) => CallOutput<N> | Promise<CallOutput<N>> };

export function createHandlers({ storage, chat, models, settings, registry, downloads, catalog, system, openai, recovery, remotes, presets, events }: Services): Handlers {
  /** Announces a change to every connected window and tab, and passes the result on. */
  const changed = <T>(conversationId: string, reason: EventPayload<'conversations.changed'>['reason'], result: T): T => {
    events?.emit('conversations.changed', { conversationId, reason });
    return result;
  };
  return {
    'conversations.list': (input) => storage.listConversations({ ...input }),
    'conversations.create': (input) => {
      const conversation = storage.createConversation(presets.forNewConversation(input));
      return changed(conversation.id, 'created', conversation);
    },
    'conversations.rename': ({ id, title }) => changed(id, 'renamed', storage.renameConversation(id, title)),
    'conversations.pin': ({ id, pinned }) => changed(id, 'pinned', storage.setPinned(id, pinned)),
    'conversations.updateSettings': ({ id, ...change }) => changed(id, 'settings', storage.updateConversationSettings(id, change)),
    'conversations.delete': ({ id }) => {
      const active = chat.activeAnswer;
      if (active?.conversationId === id) chat.stop({ conversationId: id });
      return changed(id, 'deleted', storage.softDeleteConversation(id));
    },
    'conversations.restore': ({ id }) => changed(id, 'restored', storage.restoreConversation(id)),
    'conversations.search': ({ query, ...page }) => storage.search(query, page),
    'conversations.exportMarkdown': ({ id }) => (id ? storage.exportMarkdown(id) : storage.exportAllMarkdown()),
    'conversations.exportJson': ({ ids }) => storage.exportJsonText(ids ? { conversationIds: ids } : {}),
    'conversations.importJson': async ({ text }) => {
      const result = await storage.importJson(text);
      for (const id of result.conversationIds) changed(id, 'imported', null);
      return result;
    },
    'messages.activePath': ({ conversationId }) => storage.loadActivePath(conversationId),
    'messages.siblings': ({ messageId }) => storage.getSiblings(messageId),
    'messages.tokenRecord': ({ messageId }) => storage.getTokenRecord(messageId),
    'messages.samplerStages': (input) => chat.samplerStages(input),
    'messages.select': ({ messageId }) => {
      const path = storage.selectMessage(messageId);
      return changed(path.conversation.id, 'selected', path);
    },
    'chat.send': (input) => chat.send(input),
    'chat.stop': (input) => chat.stop(input),
    'chat.regenerate': (input) => chat.regenerate(input),
    'chat.branch': (input) => chat.branchFromToken(input),
    'chat.continue': (input) => chat.continueAnswer(input),
    'chat.editAndResend': (input) => chat.editAndResend(input),
    'models.list': () => registry.list(),
    'models.status': () => models.getStatus(),
    'models.load': ({ modelId }) => models.load(modelId),
    'models.unload': () => models.unload(),
    'models.planRemoval': ({ id }) => registry.planRemoval(id),
    'models.remove': async ({ id }) => {
      await registry.remove(id, { confirm: true });
      return { removed: true } as const;
    },
    'models.import': ({ path, name, chatTemplate }) => registry.importFolder(path, { ...(name ? { name } : {}), ...(chatTemplate ? { chatTemplate } : {}) }),
    'models.setDefault': async ({ id }) => {
      await registry.setDefault(id);
      return { id };
    },
    'catalog.list': () => catalog(),
    // Downloads an earlier run left on disk come back paused: reading them is local only.
    'downloads.list': async () => {
      await downloads.restore();
      return downloads.list();
    },
    'downloads.inspect': ({ repo, revision }) => downloads.inspect(repo, revision),
    'downloads.start': ({ spec }) => downloads.start(spec),
    'downloads.pause': ({ id }) => downloads.pause(id),
    'downloads.resume': ({ id }) => downloads.resume(id),
    'downloads.cancel': async ({ id }) => {
      await downloads.cancel(id);
      return { cancelled: true } as const;
    },
    'settings.get': () => settings.get(),
    'settings.update': async (patch) => {
      // The key is replaced only through api.newKey: a settings change keeps the stored hash.
      const next = settings.update(patch.api ? { ...patch, api: { ...patch.api, keyHash: settings.get().api.keyHash } } : patch);
      if (patch.api) await openai.apply();
      return next;
    },
    'api.status': () => openai.status(),
    'api.newKey': () => openai.newKey(),
    'remote.list': () => remotes.list(),
    'remote.test': async (input) => ({ models: await remotes.test(input) }),
    'remote.add': (input) => remotes.add(input),
    'remote.remove': async ({ id }) => {
      if (models.getStatus().modelId === id) await models.unload();
      remotes.remove(id);
      return { removed: true } as const;
    },
    'system.info': () => system.info(),
    'recovery.status': () => recovery.status(),
    'recovery.salvage': () => recovery.salvage(),
    'recovery.startFresh': () => recovery.startFresh(),
    'recovery.restoreBackup': ({ name }) => recovery.restoreBackup(name),
    'system.chooseFolder': ({ title }) => system.chooseFolder(title),
    ...presetAndTemplateHandlers({ presets, registry, models }),
  };
}

export type Dispatch = (name: unknown, input: unknown) => Promise<CallResult<unknown>>;

export function createDispatch(handlers: Handlers): Dispatch {
  return async (name, input) => {
    if (typeof name !== 'string' || !Object.hasOwn(calls, name)) {
      // Only a string is quoted: String() of any object can throw (a toString that is not a function).
      const named = typeof name === 'string' ? JSON.stringify(name).slice(0, 80) : `(a call name must be text, not ${name === null ? 'null' : typeof name})`;
      return { ok: false, error: { code: 'unknown_call', message: `Unknown call ${named}` } };
    }
    const callName = name as CallName;
    const parsed = calls[callName].safeParse(input ?? {});
    if (!parsed.success) return { ok: false, error: { code: 'invalid_input', message: `${callName}: ${describeIssues(parsed.error)}` } };
    try {
      const handler = handlers[callName] as (input: unknown) => unknown;
      return { ok: true, value: await handler(parsed.data) };
    } catch (error) {
      return { ok: false, error: toApiError(error) };
    }
  };
}

/** A failure as the renderer sees it: a stable code and a message a person can read. */
export function toApiError(error: unknown): ApiErrorShape {
  if (error instanceof ModelHostError) return { code: error.code, message: error.message };
  // Damage keeps its own message (it names the kept copy); everything else in the table
  // answers a plain statement, never SQLite's or the file system's raw text.
  const userCode = error instanceof StorageError && error.code === 'CORRUPT' ? null : userErrorCodeFor(error);
  if (userCode !== null) return { code: userCode, message: USER_ERROR_DETAILS[userCode] };
  if (error instanceof StorageError) return { code: error.userCode, message: error.message };
  if (error instanceof z.ZodError) return { code: 'invalid_input', message: describeIssues(error) };
  // The registry's and the downloader's errors carry their own lower_snake codes.
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === 'string' && /^[a-z][a-z_]*$/.test(code)) return { code, message: error.message };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
