// The one contract between the renderer and the main side: every call with the schema of its
// input, every event with the schema of its payload. The preload (Electron IPC) and the
// browser host (WebSocket) are two transports of this same contract, and the services behind
// them are the same code. Inputs are validated on the main side with these schemas; outputs
// come from our own code and are typed, not re-validated.
import { z } from 'zod';
import type {
  ActivePath,
  Conversation,
  ConversationPage,
  GenerationStarted,
  ImportResult,
  ModelStatus,
  SearchPage,
  Siblings,
  SystemInfo,
} from './chat-types.ts';
import { samplingParamsSchema, tokenCandidateSchema, generationStatsSchema, dtypeSchema, SAMPLING_LIMITS, type SamplerStage } from './model-host-protocol.ts';
import type { TokenRecord } from './token-record.ts';
import { apiServerSettingsSchema, type ApiServerStatus } from './openai-api-types.ts';
import { remoteCalls, type RemoteCallOutputs } from './remote-model-types.ts';
import { presetCalls, type PresetCallOutputs } from './presets.ts';
import { chatTemplateCalls, chatTemplateChoiceSchema, type ChatTemplateCallOutputs } from './chat-template-types.ts';
import type { Catalog, DownloadEvent, DownloadInfo, InstalledModel, RegistryEvent, RemovalPlan, RepoInspection } from './model-registry-types.ts';

const id = z.string().min(1, 'an id is required').max(128);
const title = z.string().trim().min(1, 'the title must not be empty').max(500);
const content = z.string().max(1_000_000, 'the message is longer than 1,000,000 characters');
const systemPrompt = z.string().max(100_000).nullable();
/** Stored per conversation: every field optional, unknown ones refused. */
const conversationSampling = samplingParamsSchema.partial().strict().nullable();
const pageLimit = z.number().int().min(1).max(500);
const hubRepo = z.string().regex(/^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/, 'a repository id looks like owner/name');
const hubRevision = z.string().regex(/^[\w.-]{1,128}$/, 'a revision is a branch, tag or commit');
/** What a new conversation may be given at its start. */
/** The preset a conversation follows (a user's or a built-in one's id); null: none. */
const presetId = id.nullable();
const newConversation = z
  .object({ title: title.optional(), systemPrompt: systemPrompt.optional(), sampling: conversationSampling.optional(), modelId: id.nullable().optional(), presetId: presetId.optional() })
  .strict();
const messageText = content.refine((text) => text.trim().length > 0, 'the message is empty');

export const settingsSchema = z
  .object({
    theme: z.enum(['system', 'light', 'dark']),
    /** null: follow the system language. */
    language: z.enum(['en', 'zh-CN']).nullable(),
    /** How many next-token candidates each token event carries (0 hides the visualisation). */
    candidates: z.number().int().min(0).max(SAMPLING_LIMITS.candidates),
    defaultSampling: samplingParamsSchema.omit({ seed: true }),
    defaultSystemPrompt: z.string().max(100_000),
    /** A Hugging Face mirror (https URL); null: JIELONG_HUB_HOST, HF_ENDPOINT, then huggingface.co. */
    hubHost: z.url({ protocol: /^https?$/, error: 'the hub host must be an http(s) URL' }).max(2048).nullable(),
    /** Set once the first-run screen was answered (a model chosen or the demo kept). */
    firstRunDone: z.boolean(),
    /** The OpenAI-compatible API server (off by default). */
    api: apiServerSettingsSchema,
    /** The preset a new chat follows; null: none. */
    defaultPresetId: z.string().min(1).max(128).nullable(),
  })
  .strict();
export type AppSettings = z.output<typeof settingsSchema>;

/** Every call: its input schema. The output type is in `CallOutputs`. */
export const calls = {
  'conversations.list': z.object({ limit: pageLimit.optional(), cursor: z.string().max(256).nullable().optional() }).strict(),
  'conversations.create': newConversation,
  'conversations.rename': z.object({ id, title }).strict(),
  'conversations.pin': z.object({ id, pinned: z.boolean() }).strict(),
  'conversations.updateSettings': z
    .object({ id, systemPrompt: systemPrompt.optional(), sampling: conversationSampling.optional(), modelId: id.nullable().optional(), presetId: presetId.optional() })
    .strict(),
  /** Moves to the trash; `conversations.restore` undoes it. */
  'conversations.delete': z.object({ id }).strict(),
  'conversations.restore': z.object({ id }).strict(),
  'conversations.search': z.object({ query: z.string().max(1000), limit: pageLimit.optional(), offset: z.number().int().min(0).max(1_000_000).optional() }).strict(),
  /** Markdown of one conversation's active path, or of all when `id` is omitted. */
  'conversations.exportMarkdown': z.object({ id: id.optional() }).strict(),
  /** Our versioned JSON format, with whole trees; all conversations when `ids` is omitted. */
  'conversations.exportJson': z.object({ ids: z.array(id).max(100_000).optional() }).strict(),
  'conversations.importJson': z.object({ text: z.string().max(512 * 1024 * 1024) }).strict(),
  'messages.activePath': z.object({ conversationId: id }).strict(),
  'messages.siblings': z.object({ messageId: id }).strict(),
  /** Makes the active path go through this message (switching alternates, opening a search hit). */
  'messages.select': z.object({ messageId: id }).strict(),
  /** An answer's token record (ids, probabilities, candidates, times); null when it has none. */
  'messages.tokenRecord': z.object({ messageId: id }).strict(),
  /** The sampler view of token `index` of an answer: each stage's kept and removed tokens, mass left, best tokens (uses the model). */
  'messages.samplerStages': z.object({ messageId: id, index: z.number().int().min(0).max(10_000_000) }).strict(),
  /**
   * Into `conversationId`, or into a conversation this call creates from `newConversation` (a
   * new chat is one round trip; nothing is created when the answer cannot start).
   * `parentId`: the last message of the branch the user sees (null: they see an empty
   * conversation). The question attaches there; a parent that is gone, or null when the
   * conversation has messages now, is refused with `stale_view` (the UI then shows the latest).
   */
  'chat.send': z
    .object({ conversationId: id.optional(), newConversation: newConversation.optional(), content: messageText, parentId: id.nullable().optional() })
    .strict()
    .refine((input) => (input.conversationId === undefined) !== (input.newConversation === undefined), 'give either conversationId or newConversation')
    .refine((input) => input.newConversation === undefined || input.parentId == null, 'a new conversation has no parent message'),
  'chat.stop': z.object({ conversationId: id }).strict(),
  /** A new answer to the same question, as a sibling of `messageId` (an assistant message). */
  'chat.regenerate': z.object({ messageId: id }).strict(),
  /** A new answer beside `messageId` that keeps its tokens before `index` and takes candidate `tokenId` there, then goes on. */
  'chat.branch': z.object({ messageId: id, index: z.number().int().min(0).max(10_000_000), tokenId: z.number().int().min(0) }).strict(),
  /** The answer `messageId` (stopped by max tokens, by the user, or cut off) goes on after its last token. */
  'chat.continue': z.object({ messageId: id }).strict(),
  /** A new user message beside `messageId` (a user message), then its answer. */
  'chat.editAndResend': z.object({ messageId: id, content: messageText }).strict(),
  'models.list': z.object({}).strict(),
  'models.status': z.object({}).strict(),
  'models.load': z.object({ modelId: id }).strict(),
  'models.unload': z.object({}).strict(),
  /** What deleting would remove, for the confirmation dialog. */
  'models.planRemoval': z.object({ id }).strict(),
  'models.remove': z.object({ id, confirm: z.literal(true, 'deleting a model needs confirm: true') }).strict(),
  /** Copies a local model folder (validated first) into the models folder. */
  'models.import': z.object({ path: z.string().min(1).max(4096), name: z.string().trim().min(1).max(200).optional(), chatTemplate: chatTemplateChoiceSchema.optional() }).strict(),
  'models.setDefault': z.object({ id: id.nullable() }).strict(),
  'catalog.list': z.object({}).strict(),
  'downloads.list': z.object({}).strict(),
  /** "Add by repo id": what the hub has for a repository, before anything is downloaded. */
  'downloads.inspect': z.object({ repo: hubRepo, revision: hubRevision.optional() }).strict(),
  'downloads.start': z
    .object({
      spec: z.discriminatedUnion('source', [
        z.object({ source: z.literal('catalog'), catalogId: id, dtype: dtypeSchema }).strict(),
        z.object({ source: z.literal('hub'), repo: hubRepo, revision: hubRevision.optional(), dtype: dtypeSchema, name: z.string().trim().min(1).max(200).optional() }).strict(),
      ]),
    })
    .strict(),
  'downloads.pause': z.object({ id }).strict(),
  'downloads.resume': z.object({ id }).strict(),
  /** Stops a download and removes its partial files. */
  'downloads.cancel': z.object({ id }).strict(),
  'settings.get': z.object({}).strict(),
  /** Memory and disk figures for "fits in memory" and "fits on disk" hints; local only. */
  'system.info': z.object({}).strict(),
  /** A native folder chooser where the shell has one (Electron); the browser host answers `unsupported`. */
  'system.chooseFolder': z.object({ title: z.string().max(200).optional() }).strict(),
  /** Whether the conversation database is damaged, and what can be done (the recovery screen). */
  'recovery.status': z.object({}).strict(),
  /** Copies every readable conversation and message of the damaged database into a fresh one. */
  'recovery.salvage': z.object({}).strict(),
  /** A new empty database; the damaged file stays where the status says. */
  'recovery.startFresh': z.object({}).strict(),
  /** An automatic backup (by the name the status lists) replaces the damaged database. */
  'recovery.restoreBackup': z.object({ name: z.string().min(1).max(200) }).strict(),
  'settings.update': settingsSchema.partial().strict(),
  /** The OpenAI-compatible API: running or not, its address, the last 100 requests. */
  'api.status': z.object({}).strict(),
  /** A new API key, answered this once (only its hash is kept); replaces the old one. */
  'api.newKey': z.object({}).strict(),
  /** Remote models: remote.list, remote.test (connection test), remote.add, remote.remove. */
  ...remoteCalls,
  /** Presets: presets.list, presets.create, presets.rename, presets.delete. */
  ...presetCalls,
  /** A model's chat template and recommended sampling: models.previewChatTemplate, models.setChatTemplate, models.defaults. */
  ...chatTemplateCalls,
} as const;

export type CallName = keyof typeof calls;
export type CallInput<N extends CallName> = z.input<(typeof calls)[N]>;

/** A send's start, with the conversation as it is now (created by the send, or its model recorded). */
export type SendStarted = GenerationStarted & { conversation: Conversation };

export interface CallOutputs extends RemoteCallOutputs, PresetCallOutputs, ChatTemplateCallOutputs {
  'conversations.list': ConversationPage;
  'conversations.create': Conversation;
  'conversations.rename': Conversation;
  'conversations.pin': Conversation;
  'conversations.updateSettings': Conversation;
  'conversations.delete': Conversation;
  'conversations.restore': Conversation;
  'conversations.search': SearchPage;
  'conversations.exportMarkdown': string;
  'conversations.exportJson': string;
  'conversations.importJson': ImportResult;
  'messages.activePath': ActivePath;
  'messages.siblings': Siblings;
  'messages.select': ActivePath;
  'messages.tokenRecord': TokenRecord | null;
  'messages.samplerStages': SamplerStage[];
  'chat.send': SendStarted;
  'chat.stop': { stopped: boolean };
  'chat.regenerate': GenerationStarted;
  'chat.branch': GenerationStarted;
  'chat.continue': GenerationStarted;
  'chat.editAndResend': GenerationStarted;
  'models.list': InstalledModel[];
  'models.status': ModelStatus;
  'models.load': ModelStatus;
  'models.unload': ModelStatus;
  'models.planRemoval': RemovalPlan;
  'models.remove': { removed: true };
  'models.import': InstalledModel;
  'models.setDefault': { id: string | null };
  'catalog.list': Catalog;
  'downloads.list': DownloadInfo[];
  'downloads.inspect': RepoInspection;
  'downloads.start': DownloadInfo;
  'downloads.pause': DownloadInfo;
  'downloads.resume': DownloadInfo;
  'downloads.cancel': { cancelled: true };
  'settings.get': AppSettings;
  'system.info': SystemInfo;
  'system.chooseFolder': { path: string | null };
  'settings.update': AppSettings;
  'recovery.status': RecoveryStatus;
  'recovery.salvage': SalvageReport;
  'recovery.startFresh': RecoveryStatus;
  'recovery.restoreBackup': RecoveryStatus;
  'api.status': ApiServerStatus;
  'api.newKey': { key: string };
}
export type RecoveryStatus =
  | { state: 'ok' }
  /** The data folder cannot be written: Jielong refuses to run on it rather than fail each write. */
  | { state: 'unwritable'; folder: string; code: string }
  | { state: 'damaged'; databasePath: string; keptCopy: string | null; detail: string; backups: Array<{ name: string; createdAt: number; bytes: number }> };
export interface SalvageReport {
  conversations: { saved: number; lost: number };
  messages: { saved: number; lost: number };
  lostIsEstimate: boolean;
  keptCopy: string | null;
}
export type CallOutput<N extends CallName> = CallOutputs[N];

/** Every event pushed to the renderer: its payload schema (validated in tests, typed everywhere). */
export const events = {
  'generation.token': z
    .object({
      conversationId: id,
      messageId: id,
      text: z.string(),
      tokenId: z.number().int(),
      probability: z.number(),
      candidates: z.array(tokenCandidateSchema).optional(),
      modelProbability: z.number().optional(),
      entropyBits: z.number().optional(),
      decodeMs: z.number().optional(),
    })
    .strict(),
  'generation.prefill': z
    .object({ conversationId: id, messageId: id, promptTokens: z.number().int(), cachedTokens: z.number().int(), droppedMessages: z.number().int() })
    .strict(),
  'generation.done': z.object({ conversationId: id, messageId: id, status: z.enum(['complete', 'interrupted']), stats: generationStatsSchema }).strict(),
  /** `status`: how the answer was stored (the chat service decides; windows show the same). */
  'generation.error': z.object({ conversationId: id, messageId: id, status: z.enum(['interrupted', 'error']), code: z.string(), message: z.string() }).strict(),
  /** A conversation changed (from any window or tab): every window refreshes what it shows of it. */
  'conversations.changed': z
    .object({ conversationId: id, reason: z.enum(['created', 'messages', 'selected', 'renamed', 'settings', 'pinned', 'deleted', 'restored', 'imported']) })
    .strict(),
  'models.progress': z.object({ modelId: id, file: z.string(), progress: z.number() }).strict(),
  'models.status': z.custom<ModelStatus>(),
  /** Installed, removed, default changed. */
  'models.changed': z.custom<RegistryEvent>(),
  /** A preset was created, renamed or deleted (in any window): every window reloads the list. */
  'presets.changed': z.object({}).strict(),
  /** Download added, state changed, progress (per file and total: bytes, speed, ETA), installed, removed. */
  'downloads.event': z.custom<DownloadEvent>(),
} as const;

export type EventName = keyof typeof events;
export type EventPayload<N extends EventName> = z.output<(typeof events)[N]>;

export const CALL_NAMES = Object.keys(calls) as CallName[];
export const EVENT_NAMES = Object.keys(events) as EventName[];

/** What every call answers, over either transport: never a thrown exception. */
export type CallResult<T> = { ok: true; value: T } | { ok: false; error: ApiErrorShape };
export interface ApiErrorShape {
  /** One of ERROR_CODES (electron/shared/user-errors.ts), the renderer's key to the words it shows. */
  code: string;
  message: string;
}
