// The batching appender for a streaming assistant message.
//
// Tokens arrive one by one; writing each in its own transaction (an fsync each, with
// synchronous=FULL) would be slow and pointless. The writer buffers chunks and commits them
// in one transaction when `intervalMs` has passed since the last commit or `maxChunks` chunks
// are waiting, whichever comes first, and always on `finish`. Text that failed to commit is
// kept in the buffer (never dropped) and retried; `unsavedText` exposes it.
import { StorageError } from './errors.ts';
import type { FinishOutcome } from './messages.ts';
import type { Message } from './types.ts';

export interface StreamWriterOptions {
  /** Commit at most this often while chunks arrive (default 200 ms). */
  intervalMs?: number;
  /** ...or as soon as this many chunks wait (default 64). */
  maxChunks?: number;
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
  append(messageId: string, text: string): void;
  finish(messageId: string, pendingText: string, outcome: FinishOutcome): Message;
  now(): number;
  /** Called once the writer is finished, to forget it. */
  release(writer: StreamWriter): void;
}

export const DEFAULT_INTERVAL_MS = 200;
export const DEFAULT_MAX_CHUNKS = 64;

export class StreamWriter {
  readonly messageId: string;
  /** The message as it was when streaming began. */
  readonly message: Message;
  readonly #sink: StreamSink;
  readonly #intervalMs: number;
  readonly #maxChunks: number;
  readonly #onCommit: ((batch: CommittedBatch) => void) | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;
  #buffer: string[] = [];
  #committedLength: number;
  #lastCommitAt: number;
  #timer: NodeJS.Timeout | undefined;
  #finished: Message | undefined;
  #lastError: unknown;

  constructor(sink: StreamSink, message: Message, options: StreamWriterOptions = {}) {
    const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    const maxChunks = options.maxChunks ?? DEFAULT_MAX_CHUNKS;
    if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new StorageError('INVALID_INPUT', `Invalid intervalMs ${String(intervalMs)}: must be 0 or more`);
    if (!Number.isInteger(maxChunks) || maxChunks < 1) throw new StorageError('INVALID_INPUT', `Invalid maxChunks ${String(maxChunks)}: must be a whole number, 1 or more`);
    this.#sink = sink;
    this.message = message;
    this.messageId = message.id;
    this.#committedLength = message.content.length;
    this.#intervalMs = intervalMs;
    this.#maxChunks = maxChunks;
    this.#onCommit = options.onCommit;
    this.#onError = options.onError;
    this.#lastCommitAt = sink.now();
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
   * Buffers a chunk; commits when the interval has passed or enough chunks wait. Never throws
   * for a failed commit: the text stays buffered, `onError` hears about it, and the commit is
   * retried after the interval (and on finish).
   */
  append(text: string): void {
    if (typeof text !== 'string') throw new StorageError('INVALID_INPUT', 'Invalid streamed text: must be a string');
    if (this.#finished !== undefined) {
      throw new StorageError('CONFLICT', `The message ${JSON.stringify(this.messageId)} is finished; no more text can be added to it.`);
    }
    if (text.length === 0) return;
    this.#buffer.push(text);
    const due = this.#sink.now() - this.#lastCommitAt >= this.#intervalMs;
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
    this.#sink.append(this.messageId, text);
    // Only now is the text safe; drop exactly what was committed.
    this.#buffer = [];
    this.#lastError = undefined;
    this.#committedLength += text.length;
    this.#lastCommitAt = this.#sink.now();
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
    const message = this.#sink.finish(this.messageId, text, outcome);
    this.#buffer = [];
    this.#lastError = undefined;
    this.#committedLength = message.content.length;
    this.#finished = message;
    this.#sink.release(this);
    if (chunks > 0) this.#onCommit?.({ messageId: this.messageId, chunks, committedLength: this.#committedLength });
    return message;
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
    if (this.#timer !== undefined || this.#buffer.length === 0) return;
    const wait = Math.max(0, this.#intervalMs - (this.#sink.now() - this.#lastCommitAt));
    this.#timer = setTimeout(() => this.#flushFromTimer(), wait);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}
