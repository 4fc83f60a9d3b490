import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError } from './errors.ts';
import { Storage } from './storage.ts';
import { openTemp, steppingClock, tempDir, track } from '../test-support/storage/temp-storage.ts';
import type { ActivePath } from './types.ts';

const contents = (path: ActivePath) => path.messages.map((m) => m.content);

function reply(storage: Storage, conversationId: string, text: string, parentId?: string | null): string {
  const writer = storage.beginAssistantMessage(parentId === undefined ? { conversationId } : { conversationId, parentId });
  writer.append(text);
  return writer.finish({ status: 'complete' }).id;
}

describe('message tree', () => {
  it('appends a user message and a streamed answer on the active path', () => {
    const storage = openTemp();
    const c = storage.createConversation();
    const user = storage.appendUserMessage({ conversationId: c.id, content: 'Hi there' });
    expect(user).toMatchObject({ role: 'user', status: 'complete', parentId: null, conversationId: c.id });
    const writer = storage.beginAssistantMessage({ conversationId: c.id, modelId: 'demo-tiny', sampling: { temperature: 0.5 }, seed: 1234 });
    expect(writer.message).toMatchObject({ role: 'assistant', status: 'streaming', parentId: user.id, content: '' });
    for (const token of ['Hel', 'lo', ', ', 'world']) writer.append(token);
    const stats = { timeToFirstTokenMs: 12.5, prefillTokensPerSecond: 900, decodeTokensPerSecond: 40.25, promptTokens: 9, decodeTokens: 4, cachedTokens: 3, stopReason: 'eos' };
    const done = writer.finish({ status: 'complete', stats });
    expect(done).toMatchObject({ content: 'Hello, world', status: 'complete', modelId: 'demo-tiny', sampling: { temperature: 0.5 }, seed: 1234, stats });
    const active = storage.loadActivePath(c.id);
    expect(contents(active)).toEqual(['Hi there', 'Hello, world']);
    expect(active.conversation.selectedLeafId).toBe(done.id);
    expect(active.messages.map((m) => [m.siblingIndex, m.siblingCount])).toEqual([[0, 1], [0, 1]]);
  });

  it('edit-and-resend creates a sibling user message and switches the path to it', () => {
    const storage = openTemp();
    const c = storage.createConversation();
    const q1 = storage.appendUserMessage({ conversationId: c.id, content: 'first question' });
    reply(storage, c.id, 'first answer');
    const q2 = storage.appendUserMessage({ conversationId: c.id, content: 'follow-up' });
    reply(storage, c.id, 'second answer');

    // Edit the follow-up: a sibling of q2 under q2's parent.
    const edited = storage.appendUserMessage({ conversationId: c.id, parentId: q2.parentId, content: 'follow-up, rephrased' });
    expect(edited.parentId).toBe(q2.parentId);
    let active = storage.loadActivePath(c.id);
    expect(contents(active)).toEqual(['first question', 'first answer', 'follow-up, rephrased']);
    expect(active.messages[2]).toMatchObject({ siblingIndex: 1, siblingCount: 2 });

    // Edit the very first message: a new root.
    const root2 = storage.appendUserMessage({ conversationId: c.id, parentId: q1.parentId, content: 'another start' });
    expect(root2.parentId).toBeNull();
    active = storage.loadActivePath(c.id);
    expect(contents(active)).toEqual(['another start']);
    expect(active.messages[0]).toMatchObject({ siblingIndex: 1, siblingCount: 2 });
    expect(storage.getSiblings(q1.id).messages.map((m) => m.id)).toEqual([q1.id, root2.id]);
  });

  it('regenerate creates a sibling answer; switching siblings changes the active path and remembers branches', () => {
    const storage = openTemp();
    const c = storage.createConversation();
    storage.appendUserMessage({ conversationId: c.id, content: 'tell me a joke' });
    const a1 = reply(storage, c.id, 'joke one');
    storage.appendUserMessage({ conversationId: c.id, content: 'another' });
    const deep = reply(storage, c.id, 'joke one, part two');
    const a1Parent = storage.getMessage(a1).parentId;

    const a2 = reply(storage, c.id, 'joke two', a1Parent);
    expect(contents(storage.loadActivePath(c.id))).toEqual(['tell me a joke', 'joke two']);
    const siblings = storage.getSiblings(a2);
    expect(siblings.messages.map((m) => m.content)).toEqual(['joke one', 'joke two']);
    expect(siblings.index).toBe(1);

    // Back to the first answer: its whole branch returns, down to the remembered leaf.
    const back = storage.selectMessage(a1);
    expect(contents(back)).toEqual(['tell me a joke', 'joke one', 'another', 'joke one, part two']);
    expect(back.conversation.selectedLeafId).toBe(deep);
    expect(back.messages[1]).toMatchObject({ siblingIndex: 0, siblingCount: 2 });
    expect(storage.getConversation(c.id).selectedLeafId).toBe(deep);

    // And forth again.
    expect(contents(storage.selectMessage(a2))).toEqual(['tell me a joke', 'joke two']);
    // Replying continues the selected branch.
    storage.appendUserMessage({ conversationId: c.id, content: 'ha' });
    expect(contents(storage.loadActivePath(c.id))).toEqual(['tell me a joke', 'joke two', 'ha']);
    // Selecting a message deep in another branch (e.g. a search hit) makes its branch active.
    expect(contents(storage.selectMessage(deep))).toEqual(['tell me a joke', 'joke one', 'another', 'joke one, part two']);
  });

  it('replying under an older message re-points the ancestors so the path is consistent', () => {
    const storage = openTemp();
    const c = storage.createConversation();
    const q = storage.appendUserMessage({ conversationId: c.id, content: 'q' });
    const a1 = reply(storage, c.id, 'a1');
    const a2 = reply(storage, c.id, 'a2', q.id);
    // Reply explicitly under a1 while a2 is selected.
    const follow = storage.appendUserMessage({ conversationId: c.id, parentId: a1, content: 'under a1' });
    expect(contents(storage.loadActivePath(c.id))).toEqual(['q', 'a1', 'under a1']);
    expect(contents(storage.selectMessage(a2))).toEqual(['q', 'a2']);
    expect(storage.selectMessage(a1).conversation.selectedLeafId).toBe(follow.id);
  });

  it('refuses a parent from another conversation, empty content, and appends to finished messages', () => {
    const storage = openTemp();
    const c1 = storage.createConversation();
    const c2 = storage.createConversation();
    const m = storage.appendUserMessage({ conversationId: c1.id, content: 'in c1' });
    expect(() => storage.appendUserMessage({ conversationId: c2.id, parentId: m.id, content: 'x' })).toThrow(/parent/);
    expect(() => storage.appendUserMessage({ conversationId: c1.id, content: '' })).toThrow(StorageError);
    expect(() => storage.beginAssistantMessage({ conversationId: c1.id, seed: 1.5 })).toThrow(/seed/);
    const writer = storage.beginAssistantMessage({ conversationId: c1.id });
    writer.finish({ status: 'error', error: 'model crashed' });
    expect(() => writer.append('late')).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(storage.getMessage(writer.messageId)).toMatchObject({ status: 'error', error: 'model crashed', content: '' });
    const other = storage.beginAssistantMessage({ conversationId: c1.id });
    expect(() => other.finish({ status: 'complete', error: 'nope' })).toThrow(/error text/);
    expect(() => other.finish({ status: 'streaming' as never })).toThrow(/final status/);
    expect(other.finish({ status: 'interrupted' }).status).toBe('interrupted');
  });

  it('on open, messages left streaming by a crash become interrupted with their text kept', () => {
    const file = path.join(tempDir(), 'crash.db');
    const clock = steppingClock();
    const first = Storage.open(file, { now: clock });
    const c = first.createConversation();
    first.appendUserMessage({ conversationId: c.id, content: 'question' });
    const writer = first.beginAssistantMessage({ conversationId: c.id }, { maxChunks: 1 });
    writer.append('partial ');
    writer.append('answer');
    expect(first.getMessage(writer.messageId).content).toBe('partial answer');
    // Simulate a crash: copy the files while the writer is mid-stream, as a killed process leaves them.
    const crashed = path.join(tempDir(), 'copy.db');
    for (const suffix of ['', '-wal']) if (fs.existsSync(file + suffix)) fs.copyFileSync(file + suffix, crashed + suffix);
    first.close();

    const reopened = track(Storage.open(crashed, { now: clock }));
    expect(reopened.info.recoveredStreaming).toBe(1);
    expect(reopened.info.integrityChecked).toBe(true);
    expect(reopened.getMessage(writer.messageId)).toMatchObject({ status: 'interrupted', content: 'partial answer' });
    // Recovered text is searchable.
    expect(reopened.search('partial').hits.map((hit) => hit.messageId)).toEqual([writer.messageId]);
  });

  it('close() finishes open writers as interrupted, committing their buffered text', () => {
    const file = path.join(tempDir(), 'close.db');
    const storage = Storage.open(file, { now: steppingClock() });
    const c = storage.createConversation();
    const writer = storage.beginAssistantMessage({ conversationId: c.id }, { intervalMs: 60_000, maxChunks: 1000 });
    writer.append('buffered only');
    storage.close();
    const again = track(Storage.open(file));
    expect(again.info.recoveredStreaming).toBe(0);
    expect(again.getMessage(writer.messageId)).toMatchObject({ status: 'interrupted', content: 'buffered only' });
  });
});
