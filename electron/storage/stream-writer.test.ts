import { afterEach, describe, expect, it, vi } from 'vitest';
import { StorageError } from './errors.ts';
import type { FinishOutcome } from './messages.ts';
import { StreamWriter, type CommittedBatch, type StreamSink } from './stream-writer.ts';
import { openTemp } from '../test-support/storage/temp-storage.ts';
import type { Message } from './types.ts';

/** An in-memory sink that records transactions, with a clock the test moves and a switch to fail. */
function fakeSink() {
  const state = { now: 0, committed: '', transactions: 0, fail: false, finished: undefined as FinishOutcome | undefined, durable: [] as boolean[], syncs: 0 };
  const message = { id: 'm1', content: '' } as Message;
  const sink: StreamSink = {
    append(_id, text, _tokenPart, durable) {
      if (state.fail) throw new StorageError('IO', 'disk full');
      state.transactions += 1;
      state.committed += text;
      state.durable.push(durable);
    },
    sync() {
      state.syncs += 1;
    },
    finish(_id, pending, _tokenPart, outcome) {
      if (state.fail) throw new StorageError('IO', 'disk full');
      state.transactions += 1;
      state.committed += pending;
      state.finished = outcome;
      return { ...message, content: state.committed, status: outcome.status };
    },
    now: () => state.now,
    release: () => undefined,
  };
  return { state, sink, message };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('StreamWriter', () => {
  it('commits every maxChunks chunks, never one transaction per token', () => {
    const { state, sink, message } = fakeSink();
    const batches: CommittedBatch[] = [];
    const writer = new StreamWriter(sink, message, { intervalMs: 10_000, maxChunks: 8, onCommit: (batch) => batches.push(batch) });
    for (let i = 0; i < 100; i += 1) writer.append(`t${i} `);
    expect(state.transactions).toBe(12);
    expect(batches.every((batch) => batch.chunks === 8)).toBe(true);
    expect(writer.committedLength).toBe(state.committed.length);
    writer.finish({ status: 'complete' });
    expect(state.transactions).toBe(13);
    expect(state.committed).toBe(Array.from({ length: 100 }, (_, i) => `t${i} `).join(''));
  });

  it('commits when the interval has passed since the last commit, even if the timer is late', () => {
    const { state, sink, message } = fakeSink();
    const writer = new StreamWriter(sink, message, { intervalMs: 200, maxChunks: 1000 });
    writer.append('a');
    state.now = 150;
    writer.append('b');
    expect(state.transactions).toBe(0);
    state.now = 201;
    writer.append('c');
    expect(state.transactions).toBe(1);
    expect(state.committed).toBe('abc');
    writer.finish({ status: 'interrupted' });
  });

  it('commits from a timer when chunks stop arriving', () => {
    vi.useFakeTimers();
    const { state, sink, message } = fakeSink();
    const writer = new StreamWriter(sink, message, { intervalMs: 200, maxChunks: 1000 });
    writer.append('lonely');
    expect(state.transactions).toBe(0);
    vi.advanceTimersByTime(199);
    expect(state.transactions).toBe(0);
    vi.advanceTimersByTime(1);
    expect(state.committed).toBe('lonely');
    writer.finish({ status: 'complete' });
  });

  it('keeps text that failed to commit and retries it after the interval; never drops a word', () => {
    vi.useFakeTimers();
    const { state, sink, message } = fakeSink();
    const errors: unknown[] = [];
    const writer = new StreamWriter(sink, message, { intervalMs: 200, maxChunks: 2, onError: (error) => errors.push(error) });
    state.fail = true;
    writer.append('one ');
    writer.append('two '); // the commit fails; append does not throw, the text stays
    expect(errors).toHaveLength(1);
    expect(writer.unsavedText).toBe('one two ');
    writer.append('three '); // no retry on every chunk after a failure
    expect(errors).toHaveLength(1);
    state.now = 200;
    vi.advanceTimersByTime(200); // the retry timer fires, still failing
    expect(errors).toHaveLength(2);
    expect(() => writer.flush()).toThrow(/disk full/);
    expect(() => writer.finish({ status: 'complete' })).toThrow(/disk full/);
    expect(writer.finished).toBe(false);
    expect(writer.unsavedText).toBe('one two three ');
    state.fail = false;
    expect(writer.finish({ status: 'complete' }).content).toBe('one two three ');
    expect(writer.unsavedText).toBe('');
    expect(writer.finish({ status: 'error' }).status).toBe('complete');
  });

  it('retries a failed commit from the timer once the storage works again', () => {
    vi.useFakeTimers();
    const { state, sink, message } = fakeSink();
    const writer = new StreamWriter(sink, message, { intervalMs: 200, maxChunks: 1, onError: () => undefined });
    state.fail = true;
    writer.append('saved later');
    expect(state.committed).toBe('');
    state.fail = false;
    state.now = 200;
    vi.advanceTimersByTime(200);
    expect(state.committed).toBe('saved later');
    expect(writer.lastError).toBeUndefined();
    writer.finish({ status: 'complete' });
  });

  it('reports a failed timer commit through onError, keeping the text', () => {
    vi.useFakeTimers();
    const { state, sink, message } = fakeSink();
    const errors: unknown[] = [];
    const writer = new StreamWriter(sink, message, { intervalMs: 200, maxChunks: 100, onError: (error) => errors.push(error) });
    state.fail = true;
    writer.append('kept');
    vi.advanceTimersByTime(250);
    expect(errors).toHaveLength(1);
    expect(writer.lastError).toBe(errors[0]);
    expect(writer.unsavedText).toBe('kept');
    state.fail = false;
    writer.flush();
    expect(state.committed).toBe('kept');
    expect(writer.lastError).toBeUndefined();
    writer.finish({ status: 'complete' });
  });

  it('by default commits at the end of the event-loop turn: tokens that arrive together share one commit', async () => {
    const { state, sink, message } = fakeSink();
    const commits: number[] = [];
    const writer = new StreamWriter(sink, message, { onCommit: (batch) => commits.push(batch.committedLength) });
    writer.append('a');
    writer.append('b');
    expect(state.transactions).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(state.committed).toBe('ab');
    expect(commits).toEqual([2]);
    writer.append('c');
    await new Promise((resolve) => setImmediate(resolve));
    expect(state.committed).toBe('abc');
    expect(commits).toEqual([2, 3]);
    writer.finish({ status: 'complete' });
  });

  it('skips the fsync on streaming commits but makes them durable every syncIntervalMs, by a commit or a timer', () => {
    vi.useFakeTimers();
    const { state, sink, message } = fakeSink();
    const writer = new StreamWriter(sink, message, { maxChunks: 1, syncIntervalMs: 1_000 });
    writer.append('a');
    state.now = 500;
    writer.append('b');
    expect(state.durable).toEqual([false, false]);
    state.now = 1_000;
    writer.append('c'); // a second since the last durable point: this commit syncs
    expect(state.durable).toEqual([false, false, true]);
    state.now = 1_100;
    writer.append('d');
    expect(state.durable).toEqual([false, false, true, false]);
    expect(state.syncs).toBe(0);
    // No more tokens: the timer syncs the log what's committed, a second after the last durable point.
    vi.advanceTimersByTime(899);
    expect(state.syncs).toBe(0);
    state.now = 2_000;
    vi.advanceTimersByTime(1);
    expect(state.syncs).toBe(1);
    writer.finish({ status: 'complete' });
    vi.advanceTimersByTime(5_000);
    expect(state.syncs).toBe(1);
  });

  it('refuses bad options and non-string text', () => {
    const { sink, message } = fakeSink();
    expect(() => new StreamWriter(sink, message, { maxChunks: 0 })).toThrow(/maxChunks/);
    expect(() => new StreamWriter(sink, message, { intervalMs: -1 })).toThrow(/intervalMs/);
    expect(() => new StreamWriter(sink, message, { syncIntervalMs: Number.NaN })).toThrow(/syncIntervalMs/);
    const writer = new StreamWriter(sink, message);
    expect(() => writer.append(3 as never)).toThrow(/must be a string/);
    writer.finish({ status: 'complete' });
  });

  it('against the database: each batch is one committed transaction, visible to readers', () => {
    const storage = openTemp();
    const c = storage.createConversation();
    const seen: number[] = [];
    const writer = storage.beginAssistantMessage({ conversationId: c.id }, { intervalMs: 60_000, maxChunks: 4, onCommit: (batch) => seen.push(batch.committedLength) });
    const tokens = '注意力 机制 让 模型 在 生成 每个 词 时 关注 输入'.split(' ');
    let expected = '';
    for (const token of tokens) {
      writer.append(token);
      expected += token;
      expect(expected.startsWith(storage.getMessage(writer.messageId).content)).toBe(true);
    }
    expect(seen).toHaveLength(2);
    expect(storage.getMessage(writer.messageId).content).toHaveLength(seen[1] as number);
    const done = writer.finish({ status: 'complete', stats: { decodeTokens: tokens.length } });
    expect(done.content).toBe(expected);
    expect(seen).toHaveLength(3);
  });
});
