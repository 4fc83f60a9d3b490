// The plain data the renderer sees: conversations, messages, search hits, models, settings.
// Storage produces the conversation types (electron/storage/types.ts re-exports them), the
// services produce the rest. Ids are strings (UUIDs), times are epoch milliseconds.
import type { LoadedModelInfo, ModelDtype } from './model-host-protocol.ts';

export type Role = 'system' | 'user' | 'assistant';

/** `streaming` while tokens arrive; the others are final. A crash turns `streaming` into `interrupted`. */
export type MessageStatus = 'streaming' | 'complete' | 'interrupted' | 'error';

/** A final status, as given to `finish`. */
export type FinalStatus = Exclude<MessageStatus, 'streaming'>;

/**
 * Sampling parameters as the chat service used them. Storage keeps every finite number it is
 * given (so new parameters need no migration); the usual ones are named for convenience.
 */
export interface StoredSampling {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  maxNewTokens?: number;
  seed?: number;
  [name: string]: number | undefined;
}

/** Generation statistics of an assistant message. Extra numeric or string fields are kept as given. */
export interface MessageStats {
  /** Time to first token. */
  timeToFirstTokenMs?: number;
  prefillMs?: number;
  prefillTokensPerSecond?: number;
  decodeTokensPerSecond?: number;
  promptTokens?: number;
  /** Tokens generated. */
  decodeTokens?: number;
  /** Prompt tokens served from the KV cache. */
  cachedTokens?: number;
  /** Why generation stopped (e.g. `eos`, `max_tokens`, `cancelled`); opaque to storage. */
  stopReason?: string;
  [name: string]: number | string | undefined;
}

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  pinned: boolean;
  /** Set while the conversation is in the trash (soft-deleted); null otherwise. */
  deletedAt: number | null;
  modelId: string | null;
  systemPrompt: string | null;
  sampling: StoredSampling | null;
  /** The leaf of the branch the user is looking at; null for an empty conversation. */
  selectedLeafId: string | null;
  /** The preset it follows (its values sit under the conversation's own); null: none. */
  presetId: string | null;
}

export interface Message {
  id: string;
  conversationId: string;
  /** null for the first message(s) of a conversation. */
  parentId: string | null;
  role: Role;
  content: string;
  status: MessageStatus;
  /** Why generation failed, when status is `error`. */
  error: string | null;
  modelId: string | null;
  sampling: StoredSampling | null;
  seed: number | null;
  stats: MessageStats | null;
  createdAt: number;
  updatedAt: number;
}

/** A message on the active path, with where it sits among its siblings (for "‹ 2/3 ›"). */
export interface PathMessage extends Message {
  /** 0-based position among the messages that share its parent, oldest first. */
  siblingIndex: number;
  siblingCount: number;
}

export interface ActivePath {
  conversation: Conversation;
  /** Root first, selected leaf last. */
  messages: PathMessage[];
}

export interface Siblings {
  /** Oldest first; includes the message itself. */
  messages: Message[];
  /** Position of the asked-for message in `messages`. */
  index: number;
}

export interface ConversationPage {
  items: Conversation[];
  /** Pass to the next `list` call; null when there is nothing more. */
  nextCursor: string | null;
}

export interface SearchSnippet {
  /** A short excerpt of the original text, with `…` where it was cut. */
  text: string;
  /** [start, end) ranges in `text` (UTF-16 offsets) that matched the query. */
  highlights: Array<[number, number]>;
}

export interface SearchHit {
  /** `title`: the conversation's title matched; `message`: a message's text matched. */
  kind: 'title' | 'message';
  conversationId: string;
  conversationTitle: string;
  /** null for title hits. */
  messageId: string | null;
  role: Role | null;
  createdAt: number;
  /** bm25 score; lower is better (SQLite's convention). */
  score: number;
  snippet: SearchSnippet;
}

export interface SearchPage {
  hits: SearchHit[];
  /** Offset of the next page; null when there is nothing more. */
  nextOffset: number | null;
}

export interface ImportResult {
  /** Ids of the conversations written, in file order (new ids for copies). */
  conversationIds: string[];
  /** Conversations imported under new ids because theirs were taken. */
  copied: number;
  skipped: number;
}

/** What a send, a regenerate or an edit-and-resend started; tokens follow as events. */
export interface GenerationStarted {
  conversationId: string;
  /** The user message (new for send and edit; the existing question for regenerate). */
  userMessage: Message;
  /** The assistant message, `streaming`, that the token events fill. */
  assistantMessage: Message;
}

export interface ModelSummary {
  id: string;
  name: string;
  description: string;
  dtypes: ModelDtype[];
  contextLength: number | null;
  sizeBytes: number;
  source: 'bundled' | 'downloaded' | 'imported';
}

export interface ModelStatus {
  state: 'none' | 'loading' | 'ready' | 'error';
  modelId: string | null;
  /** 0..100 while loading. */
  progress: number | null;
  info: LoadedModelInfo | null;
  error: { code: string; message: string } | null;
  /** Set while a remote model (an OpenAI-compatible server) is the one in use. */
  remote?: { name: string; baseUrl: string; model: string };
}

/** What the Models screen needs to say whether a model fits: read locally, never sent anywhere. */
export interface SystemInfo {
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  /** Where downloaded and imported models go. */
  modelsDir: string;
  /** Free bytes on the disk of the models folder; null when the platform cannot tell. */
  freeDiskBytes: number | null;
  /** Where downloads would come from now (the mirror setting, JIELONG_HUB_HOST, HF_ENDPOINT, or huggingface.co). */
  hubHost: string;
  /** Whether `system.chooseFolder` can open a native folder chooser here. */
  canChooseFolder: boolean;
}

