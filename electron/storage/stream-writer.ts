// The appender for a streaming assistant message.
//
// What the user has seen must be stored: the chat service shows a token only once it is
// committed (onCommit). So the writer commits often: by default at the end of the current
// turn of the event loop (tokens that arrive together share one transaction), or as soon as
// `maxChunks` chunks wait; with `intervalMs` > 0 it waits that long instead. These commits
// run with synchronous=NORMAL (no fsync): a WAL commit survives the process being killed, it
// only needs the fsync to survive a power cut. That fsync comes at least every
// `syncIntervalMs` (the next commit is a synchronous=FULL one, or a timer syncs the log when
// chunks stop) and always with `finish`. Text that failed to commit is kept in the buffer
// (never dropped) and retried; `unsavedText` exposes it. Each chunk may come with the token that
// wrote it: the token record's part for a batch commits in the same transaction as its text.
import type { RecordedToken, StoredToken } from '../shared/token-record.ts';
import { StorageError } from './errors.ts';
import type { FinishOutcome } from './messages.ts';
import { TokenRecordEncoder, type PendingToken } from './token-record-codec.ts';
import type { Message } from './types.ts';

export interface StreamWriterOptions {
  /** 0 (default): commit at the end of the current event-loop turn; otherwise at most this often (ms). */
  intervalMs?: number;
  /** ...or as soon as this many chunks wait (default 64). */
  maxChunks?: number;
  /** Make the committed text durable (fsync) at least this often while streaming (default 1000 ms). */
  syncIntervalMs?: number;
  /** Called after each committed batch (after the transaction returned). */
  onCommit?: (batch: CommittedBatch) => void;
  /** Called when a commit made by append or the timer fails (the text stays buffered and is retried). */
  onError?: (error: unknown) => void;
}

export interface CommittedBatch {
  messageId: string;
  /** Chunks in this batch. */
  chunks: number;
  /** Length (UTF-16 units) of the message text now committed. */
  committedLength: number;
}

/** What the writer needs from the storage (the facade adds corruption handling). */
export interface StreamSink {
  /** Commits `text` and its token record part; `durable` false lets the commit skip the fsync (it still survives a killed process). */
  append(messageId: string, text: string, tokenPart: Uint8Array | null, durable: boolean): void;
  /** Makes every commit so far durable (fsync of the write-ahead log). */
  sync(): void;
  finish(messageId: string, pendingText: string, tokenPart: Uint8Array | null, outcome: FinishOutcome): Message;
  now(): number;
  /** Called once the writer is finished, to forget it. */
  release(writer: StreamWriter): void;
}

export const DEFAULT_INTERVAL_MS = 0;
export const DEFAULT_MAX_CHUNKS = 64;
export const DEFAULT_SYNC_INTERVAL_MS = 1_000;
/** With intervalMs 0, how long to wait before retrying a commit that failed. */
const RETRY_AFTER_MS = 200;

export class StreamWriter {
  readonly messageId: string;
  /** The message as it was when streaming began. */
  readonly message: Message;
  readonly #sink: StreamSink;
  readonly #intervalMs: number;
  readonly #maxChunks: number;
  readonly #syncIntervalMs: number;
  readonly #onCommit: ((batch: CommittedBatch) => void) | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;
  #buffer: string[] = [];
  /** The tokens of the buffered chunks (a chunk without a token has none). */
  #tokens: PendingToken[] = [];
  /** Set when a token could not be recorded: the record stops there, the text goes on. */
  #recordStopped = false;
  readonly #encoder: TokenRecordEncoder;
  #committedLength: number;
  #lastCommitAt: number;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #syncTimer: NodeJS.Timeout | undefined;
  /** When the committed text was last made durable. */
  #lastSyncAt: number;
  #finished: Message | undefined;
  #lastError: unknown;

  /** `storedTokens`: the record the message has already (a continued answer), whose texts are not written again. */
  constructor(sink: StreamSink, message: Message, options: StreamWriterOptions = {}, storedTokens: readonly StoredToken[] = []) {
    this.#encoder = new TokenRecordEncoder(storedTokens);
    const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    const maxChunks = options.maxChunks ?? DEFAULT_MAX_CHUNKS;
    if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new StorageError('INVALID_INPUT', `Invalid intervalMs ${String(intervalMs)}: must be 0 or more`);
    if (!Number.isInteger(maxChunks) || maxChunks < 1) throw new StorageError('INVALID_INPUT', `Invalid maxChunks ${String(maxChunks)}: must be a whole number, 1 or more`);
    const syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    if (!Number.isFinite(syncIntervalMs) || syncIntervalMs < 0) throw new StorageError('INVALID_INPUT', `Invalid syncIntervalMs ${String(syncIntervalMs)}: must be 0 or more`);
    this.#sink = sink;
    this.message = message;
    this.messageId = message.id;
    this.#committedLength = message.content.length;
    this.#intervalMs = intervalMs;
    this.#maxChunks = maxChunks;
    this.#syncIntervalMs = syncIntervalMs;
    this.#onCommit = options.onCommit;
    this.#onError = options.onError;
    this.#lastCommitAt = sink.now();
    this.#lastSyncAt = this.#lastCommitAt;
  }

  /** Text committed to the database so far (its length in UTF-16 units). */
  get committedLength(): number {
    return this.#committedLength;
  }

  /** Text received but not yet committed (after a failed commit, what the UI should still show). */
  get unsavedText(): string {
    return this.#buffer.join('');
  }

  get finished(): boolean {
    return this.#finished !== undefined;
  }

  /** The error of the last failed commit, while its text is still waiting. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /**
   * Buffers a chunk, and the token that wrote it (its text may then be '': part of a
   * character); commits when the interval has passed or enough chunks wait. Never throws
   * for a failed commit: the text stays buffered, `onError` hears about it, and the commit is
   * retried after the interval (and on finish).
   */
  append(text: string, token?: RecordedToken): void {
    if (typeof text !== 'string') throw new StorageError('INVALID_INPUT', 'Invalid streamed text: must be a string');
    if (this.#finished !== undefined) {
      throw new StorageError('CONFLICT', `The message ${JSON.stringify(this.messageId)} is finished; no more text can be added to it.`);
    }
    const recorded = token !== undefined && !this.#recordStopped;
    if (text.length === 0 && !recorded) return;
    this.#buffer.push(text);
    if (recorded) this.#tokens.push({ token, textLength: text.length });
    const due = this.#intervalMs > 0 && this.#sink.now() - this.#lastCommitAt >= this.#intervalMs;
    // After a failure, retry on time only, not on every further chunk.
    if (due || (this.#buffer.length >= this.#maxChunks && this.#lastError === undefined)) {
      this.#tryFlush();
      return;
    }
    this.#schedule();
  }

  /** Commits the buffered chunks now, in one transaction. Throws (keeping the text) if that fails. */
  flush(): void {
    this.#clearTimer();
    if (this.#buffer.length === 0 || this.#finished !== undefined) return;
    const chunks = this.#buffer.length;
    const text = this.#buffer.join('');
    const now = this.#sink.now();
    const durable = now - this.#lastSyncAt >= this.#syncIntervalMs;
    const part = this.#encodeTokens();
    this.#sink.append(this.messageId, text, part?.bytes ?? null, durable);
    // Only now is the text safe; drop exactly what was committed.
    this.#committedTokens(part);
    this.#buffer = [];
    this.#lastError = undefined;
    this.#committedLength += text.length;
    this.#lastCommitAt = this.#sink.now();
    if (durable) {
      this.#lastSyncAt = this.#lastCommitAt;
      this.#clearSyncTimer();
    } else this.#scheduleSync();
    this.#onCommit?.({ messageId: this.messageId, chunks, committedLength: this.#committedLength });
  }

  /**
   * Commits what is buffered and sets the final status and stats in one transaction.
   * Calling it again after success returns the same message.
   */
  finish(outcome: FinishOutcome): Message {
    if (this.#finished !== undefined) return this.#finished;
    this.#clearTimer();
    const chunks = this.#buffer.length;
    const text = this.#buffer.join('');
    const part = this.#encodeTokens();
    const message = this.#sink.finish(this.messageId, text, part?.bytes ?? null, outcome);
    this.#committedTokens(part);
    this.#clearSyncTimer();
    this.#buffer = [];
    this.#lastError = undefined;
    this.#committedLength = message.content.length;
    this.#finished = message;
    this.#sink.release(this);
    if (chunks > 0) this.#onCommit?.({ messageId: this.messageId, chunks, committedLength: this.#committedLength });
    return message;
  }

  /**
   * The buffered tokens as a record part. A token the record cannot hold (an id past 2^24, a
   * text longer than 65535 units) ends the record there: the text must never wait on it.
   */
  #encodeTokens(): { bytes: Uint8Array; newIds: number[] } | null {
    if (this.#tokens.length === 0) return null;
    try {
      return this.#encoder.encode(this.#tokens);
    } catch (error) {
      if (!(error instanceof StorageError) || error.code !== 'INVALID_INPUT') throw error;
      const storable = this.#tokens.findIndex((_, i) => !canEncode(this.#encoder, this.#tokens.slice(0, i + 1)));
      const kept = this.#tokens.slice(0, Math.max(0, storable));
      this.#recordStopped = true;
      this.#tokens = [];
      this.#onError?.(error);
      return kept.length === 0 ? null : this.#encoder.encode(kept);
    }
  }

  #committedTokens(part: { newIds: number[] } | null): void {
    if (part === null) return;
    this.#encoder.committed(part.newIds);
    this.#tokens = [];
  }

  #flushFromTimer(): void {
    this.#timer = undefined;
    this.#tryFlush();
  }

  #tryFlush(): void {
    try {
      this.flush();
    } catch (error) {
      this.#lastError = error;
      this.#lastCommitAt = this.#sink.now();
      // Retrying cannot help once the storage is closed or damaged, or the message was finished elsewhere.
      const terminal = error instanceof StorageError && ['CORRUPT', 'CLOSED', 'NOT_FOUND', 'CONFLICT'].includes(error.code);
      if (!terminal) this.#schedule();
      this.#onError?.(error);
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#immediate !== undefined || this.#buffer.length === 0) return;
    if (this.#intervalMs === 0 && this.#lastError === undefined) {
      // Tokens that arrive in the same turn of the event loop share one commit.
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        this.#tryFlush();
      });
      return;
    }
    // After a failure, wait before retrying (at least 200 ms when committing at every turn).
    const interval = this.#intervalMs > 0 ? this.#intervalMs : RETRY_AFTER_MS;
    const wait = Math.max(0, interval - (this.#sink.now() - this.#lastCommitAt));
    this.#timer = setTimeout(() => this.#flushFromTimer(), wait);
  }

  /** After a commit without fsync: sync the log within syncIntervalMs, even if no more text comes. */
  #scheduleSync(): void {
    if (this.#syncTimer !== undefined) return;
    const wait = Math.max(0, this.#syncIntervalMs - (this.#sink.now() - this.#lastSyncAt));
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      if (this.#finished !== undefined) return;
      try {
        this.#sink.sync();
        this.#lastSyncAt = this.#sink.now();
      } catch (error) {
        this.#onError?.(error);
      }
    }, wait);
    // A pending sync never keeps the process alive by itself.
    this.#syncTimer.unref?.();
  }

  #clearSyncTimer(): void {
    if (this.#syncTimer !== undefined) {
      clearTimeout(this.#syncTimer);
      this.#syncTimer = undefined;
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#immediate !== undefined) {
      clearImmediate(this.#immediate);
      this.#immediate = undefined;
    }
  }
}

function canEncode(encoder: TokenRecordEncoder, tokens: readonly PendingToken[]): boolean {
  try {
    encoder.encode(tokens);
    return true;
  } catch {
    return false;
  }
}
