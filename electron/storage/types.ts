// The plain types of the storage layer's public API. The conversation types are the
// renderer's too, so they live in the shared contract layer and are re-exported here; storage
// itself knows nothing about models beyond an opaque model id.

export type {
  ActivePath,
  Conversation,
  ConversationPage,
  FinalStatus,
  Message,
  MessageStats,
  MessageStatus,
  PathMessage,
  Role,
  SearchHit,
  SearchPage,
  SearchSnippet,
  Siblings,
  StoredSampling as SamplingParams,
} from '../shared/chat-types.ts';

export interface StorageInfo {
  path: string;
  schemaVersion: number;
  /** Messages found `streaming` at open (left by a crash) and marked `interrupted`, text kept. */
  recoveredStreaming: number;
  /** The pragmas as read back after setting them. */
  pragmas: { journalMode: string; synchronous: number; foreignKeys: boolean; busyTimeoutMs: number };
  /** Whether a quick_check ran at open (see OpenOptions.integrityCheck). */
  integrityChecked: boolean;
}
