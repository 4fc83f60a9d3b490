// The small pure helpers: titles, ordering, snippets, keys, sampling input, live answers.
import { describe, expect, it } from 'vitest';
import type { Conversation } from '@shared/chat-types.ts';
import { compareConversations, titleFrom } from './conversations.ts';
import { isSendKey } from './keys.ts';
import { LiveAnswer } from './live-answer.ts';
import { formatByteSize } from '@shared/byte-size.ts';
import { samplingParamsSchema } from '@shared/model-host-protocol.ts';
import { formatBytes } from './i18n/index.svelte.ts';
import { checkSamplingValue, SAMPLING_FIELDS } from './sampling.ts';
import { snippetParts } from './snippet.ts';

const conversation = (id: string, pinned: boolean, updatedAt: number): Conversation => ({
  id,
  title: id,
  createdAt: 0,
  updatedAt,
  pinned,
  deletedAt: null,
  modelId: null,
  systemPrompt: null,
  sampling: null,
  selectedLeafId: null,
  presetId: null,
});

describe('conversations', () => {
  it('titles a conversation with the first line, cut at a word', () => {
    expect(titleFrom('  Hello there\nsecond line')).toBe('Hello there');
    const long = 'word '.repeat(30);
    const title = titleFrom(long);
    expect(title.endsWith('…')).toBe(true);
    expect(title.length).toBeLessThanOrEqual(61);
    expect(titleFrom('你好'.repeat(40)).length).toBe(61);
  });

  it('orders pinned first, then newest', () => {
    const list = [conversation('a', false, 3), conversation('b', true, 1), conversation('c', false, 5), conversation('d', true, 2)];
    expect(list.sort(compareConversations).map((c) => c.id)).toEqual(['d', 'b', 'c', 'a']);
  });
});

describe('snippetParts', () => {
  it('cuts the text at the highlights', () => {
    expect(snippetParts({ text: 'the quick fox', highlights: [[4, 9]] })).toEqual([
      { text: 'the ', match: false },
      { text: 'quick', match: true },
      { text: ' fox', match: false },
    ]);
  });
  it('survives overlapping and out-of-range highlights', () => {
    const parts = snippetParts({ text: 'abcdef', highlights: [[3, 99], [0, 2], [1, 4]] });
    expect(parts.map((p) => p.text).join('')).toBe('abcdef');
    expect(parts.filter((p) => p.match).map((p) => p.text)).toEqual(['ab', 'cd', 'ef']);
  });
});

describe('isSendKey', () => {
  const key = (init: KeyboardEventInit & { keyCode?: number }): KeyboardEvent =>
    ({ key: 'Enter', shiftKey: false, altKey: false, isComposing: false, keyCode: 13, ...init }) as unknown as KeyboardEvent;
  it('sends on Enter only', () => {
    expect(isSendKey(key({}), false)).toBe(true);
    expect(isSendKey(key({ shiftKey: true }), false)).toBe(false);
    expect(isSendKey(key({ key: 'a' }), false)).toBe(false);
  });
  it('never sends while an input method composes', () => {
    expect(isSendKey(key({ isComposing: true }), false)).toBe(false);
    expect(isSendKey(key({ keyCode: 229 }), false)).toBe(false);
    expect(isSendKey(key({}), true)).toBe(false);
  });
});

describe('checkSamplingValue', () => {
  it('accepts values in range, empty as the default', () => {
    expect(checkSamplingValue('temperature', '0.7')).toEqual({ ok: true, value: 0.7 });
    expect(checkSamplingValue('seed', '')).toEqual({ ok: true, value: null });
    expect(checkSamplingValue('topK', '0')).toEqual({ ok: true, value: 0 });
  });
  it('refuses what the shared schema refuses', () => {
    expect(checkSamplingValue('temperature', '6')).toMatchObject({ ok: false, error: { key: 'settings.outOfRange' } });
    expect(checkSamplingValue('topP', '0')).toMatchObject({ ok: false });
    expect(checkSamplingValue('minP', '1')).toMatchObject({ ok: false });
    expect(checkSamplingValue('seed', '1.5')).toMatchObject({ ok: false, error: { key: 'settings.wholeNumber' } });
    expect(checkSamplingValue('maxNewTokens', 'abc')).toMatchObject({ ok: false });
  });
  it('shows every field with the bounds the shared schema checks', () => {
    expect(SAMPLING_FIELDS.map((field) => field.key).sort()).toEqual(Object.keys(samplingParamsSchema.shape).sort());
    for (const field of SAMPLING_FIELDS) {
      const schema = samplingParamsSchema.shape[field.key];
      expect([field.key, schema.safeParse(field.min).success]).toEqual([field.key, !field.exclusiveMin]);
      expect([field.key, schema.safeParse(field.max).success]).toEqual([field.key, !field.exclusiveMax]);
      expect([field.key, schema.safeParse(field.min - field.step).success]).toEqual([field.key, false]);
      expect([field.key, schema.safeParse(field.max + field.step).success]).toEqual([field.key, false]);
      expect(checkSamplingValue(field.key, String(field.max + field.step))).toEqual({ ok: false, error: { key: 'settings.outOfRange', values: { min: field.min, max: field.max } } });
    }
  });
});

describe('byte sizes', () => {
  it('use decimal units everywhere: 1 kB is 1000 bytes, as the hub states sizes', () => {
    expect([999, 1500, 500_000_000, 1_000_000_000, 1_536_000_000].map(formatBytes)).toEqual(['999 B', '1.5 kB', '500 MB', '1 GB', '1.5 GB']);
    // The main side's messages (e.g. "needs 1.5 GB more") say the same sizes.
    expect([999, 1500, 500_000_000, 1_000_000_000, 1_536_000_000].map(formatByteSize)).toEqual(['999 B', '1.5 kB', '500 MB', '1 GB', '1.5 GB']);
  });
});

describe('LiveAnswer', () => {
  it('appends tokens and notifies once per frame, not per token', () => {
    const frames: Array<() => void> = [];
    const answer = new LiveAnswer('c', 'm', (callback) => frames.push(callback));
    let notified = 0;
    answer.subscribe(() => (notified += 1));
    for (let i = 0; i < 100; i++) answer.onToken({ conversationId: 'c', messageId: 'm', text: 'x', tokenId: i, probability: 0.5 });
    expect(frames).toHaveLength(1);
    frames[0]!();
    expect(notified).toBe(1);
    expect(answer.text).toBe('x'.repeat(100));
    expect(answer.tokens).toHaveLength(100);
  });
  it('keeps the text of a failed answer, with the status the main side stored', () => {
    const crashed = new LiveAnswer('c', 'm', () => undefined);
    crashed.onToken({ conversationId: 'c', messageId: 'm', text: 'partial', tokenId: 1, probability: 1 });
    crashed.onError({ conversationId: 'c', messageId: 'm', status: 'interrupted', code: 'host_exited', message: 'gone' });
    expect(crashed.status).toBe('interrupted');
    expect(crashed.text).toBe('partial');
    const failed = new LiveAnswer('c', 'm2', () => undefined);
    failed.onToken({ conversationId: 'c', messageId: 'm2', text: 'partial', tokenId: 1, probability: 1 });
    failed.onError({ conversationId: 'c', messageId: 'm2', status: 'error', code: 'generation_failed', message: 'bad graph' });
    expect(failed.status).toBe('error');
    expect(failed.error).toEqual({ code: 'generation_failed', message: 'bad graph' });
  });
});
