import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { PROBABILITY_PRECISION, type RecordedToken } from '../shared/token-record.ts';
import { mulberry32 } from '../test-support/storage/prng.ts';
import { randomToken } from '../test-support/storage/token-samples.ts';
import { openTemp, track } from '../test-support/storage/temp-storage.ts';
import { salvageInto } from './salvage.ts';
import { Storage } from './storage.ts';
import { decodeTokenRecord, TokenRecordEncoder } from './token-record-codec.ts';

function expectSameToken(actual: RecordedToken, expected: RecordedToken): void {
  expect(actual.tokenId).toBe(expected.tokenId);
  expect(Math.abs(actual.probability - expected.probability)).toBeLessThanOrEqual(PROBABILITY_PRECISION);
  expect(Math.abs((actual.modelProbability ?? -1) - (expected.modelProbability ?? -1))).toBeLessThanOrEqual(PROBABILITY_PRECISION);
  expect(actual.entropyBits).toBeCloseTo(expected.entropyBits ?? NaN, 3);
  expect(actual.decodeMs).toBeCloseTo(expected.decodeMs ?? NaN, 4);
  expect(actual.candidates.map((c) => c.tokenId)).toEqual(expected.candidates.map((c) => c.tokenId));
  expect(actual.candidates.map((c) => c.text)).toEqual(expected.candidates.map((c) => c.text));
  actual.candidates.forEach((candidate, i) => {
    const want = expected.candidates[i]!;
    expect(Math.abs(candidate.probability - want.probability)).toBeLessThanOrEqual(PROBABILITY_PRECISION);
    if (want.modelProbability === null) expect(candidate.modelProbability).toBeNull();
    else expect(Math.abs(candidate.modelProbability! - want.modelProbability)).toBeLessThanOrEqual(PROBABILITY_PRECISION);
  });
}

describe('token record codec', () => {
  it('reads back ids exactly and probabilities within the stated precision, across parts', () => {
    const rand = mulberry32(7);
    const tokens = Array.from({ length: 300 }, (_, i) => randomToken(rand, i % 21));
    const encoder = new TokenRecordEncoder();
    const parts: Uint8Array[] = [];
    for (let start = 0; start < tokens.length; start += 37) {
      const part = encoder.encode(tokens.slice(start, start + 37).map((token, i) => ({ token, textLength: (start + i) % 5 })));
      encoder.committed(part.newIds);
      parts.push(part.bytes);
    }
    const decoded = decodeTokenRecord(Buffer.concat(parts));
    expect(decoded).toHaveLength(tokens.length);
    decoded.forEach((token, i) => {
      expectSameToken(token, tokens[i]!);
      expect(token.textLength).toBe(i % 5);
    });
  });

  it('keeps unknown values unknown (a remote server that sent no logprobs)', () => {
    const token: RecordedToken = { tokenId: 3, probability: 0, modelProbability: null, entropyBits: null, decodeMs: null, candidates: [] };
    const [back] = decodeTokenRecord(new TokenRecordEncoder().encode([{ token, textLength: 1 }]).bytes);
    expect(back).toEqual({ ...token, textLength: 1 });
  });

  it('refuses what it cannot store, and bytes that are not a record', () => {
    const token = randomToken(mulberry32(1), 3);
    expect(() => new TokenRecordEncoder().encode([{ token: { ...token, tokenId: 2 ** 24 }, textLength: 1 }])).toThrow(/token id/);
    expect(() => new TokenRecordEncoder().encode([{ token: { ...token, probability: 1.5 }, textLength: 1 }])).toThrow(/probability/);
    const bytes = new TokenRecordEncoder().encode([{ token, textLength: 1 }]).bytes;
    expect(() => decodeTokenRecord(bytes.subarray(0, bytes.length - 3))).toThrow(/ends 3 bytes early/);
    expect(() => decodeTokenRecord(Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0, 0))).toThrow(/version 9/);
  });

  it('takes under 64 bytes a token with 5 candidates', () => {
    const rand = mulberry32(3);
    const tokens = Array.from({ length: 10_000 }, () => ({ token: randomToken(rand, 5), textLength: 2 }));
    const bytes = new TokenRecordEncoder().encode(tokens).bytes;
    expect(bytes.length / tokens.length).toBeLessThanOrEqual(64);
  });
});

describe('token records in the database', () => {
  it('are written with the streamed text, in batches, and read back whole after a reopen', () => {
    const storage = openTemp();
    const conversation = storage.createConversation({ title: 'record' });
    storage.appendUserMessage({ conversationId: conversation.id, content: 'q' });
    const writer = storage.beginAssistantMessage({ conversationId: conversation.id }, { maxChunks: 4, intervalMs: 1_000_000 });
    const rand = mulberry32(11);
    const tokens = Array.from({ length: 10 }, () => randomToken(rand, 5));
    const texts = ['春', '', '眠', '不觉晓', '，', '处', '处', '闻', '啼', '鸟'];
    tokens.forEach((token, i) => writer.append(texts[i]!, token));
    const message = writer.finish({ status: 'complete' });
    expect(message.content).toBe(texts.join(''));

    const record = storage.getTokenRecord(message.id);
    expect(record?.tokens.map((token) => token.textLength)).toEqual(texts.map((text) => text.length));
    record!.tokens.forEach((token, i) => expectSameToken(token, tokens[i]!));
    const file = storage.path;
    storage.close();
    const db = new Database(file, { readonly: true });
    // Merged into one row at finish.
    expect(db.prepare('SELECT count(*) AS n FROM token_records').get()).toEqual({ n: 1 });
    db.close();
  });

  it('keeps the committed batches of an answer left streaming, merged when it is recovered', () => {
    const storage = openTemp();
    const conversation = storage.createConversation({ title: 'cut' });
    const writer = storage.beginAssistantMessage({ conversationId: conversation.id }, { maxChunks: 2, intervalMs: 1_000_000 });
    const rand = mulberry32(5);
    const tokens = Array.from({ length: 5 }, () => randomToken(rand, 2));
    tokens.forEach((token) => writer.append('字', token));
    // Two batches of two committed; the fifth token waits in the buffer.
    expect(storage.getTokenRecord(writer.messageId)?.tokens).toHaveLength(4);
    expect(storage.getMessage(writer.messageId).content).toBe('字字字字');
  });

  it('say there is none for a user message and an answer written without one', () => {
    const storage = openTemp();
    const conversation = storage.createConversation({ title: 'none' });
    const user = storage.appendUserMessage({ conversationId: conversation.id, content: 'q' });
    const writer = storage.beginAssistantMessage({ conversationId: conversation.id });
    writer.append('plain text');
    const answer = writer.finish({ status: 'complete' });
    expect(storage.getTokenRecord(user.id)).toBeNull();
    expect(storage.getTokenRecord(answer.id)).toBeNull();
    expect(() => storage.getTokenRecord('no-such-message')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('go with the conversation when it is purged', () => {
    const storage = openTemp();
    const conversation = storage.createConversation({ title: 'gone' });
    const writer = storage.beginAssistantMessage({ conversationId: conversation.id });
    writer.append('a', randomToken(mulberry32(2), 1));
    writer.finish({ status: 'complete' });
    storage.softDeleteConversation(conversation.id);
    storage.purgeConversation(conversation.id);
    const file = storage.path;
    storage.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM token_records').get()).toEqual({ n: 0 });
    db.close();
  });
});

describe('token records in the JSON export', () => {
  function answered() {
    const storage = openTemp();
    const conversation = storage.createConversation({ title: 'export' });
    storage.appendUserMessage({ conversationId: conversation.id, content: 'q' });
    const writer = storage.beginAssistantMessage({ conversationId: conversation.id });
    const rand = mulberry32(21);
    const tokens = Array.from({ length: 6 }, () => randomToken(rand, 5));
    tokens.forEach((token, i) => writer.append(i === 2 ? '' : `x${i}`, token));
    return { storage, tokens, answer: writer.finish({ status: 'complete' }) };
  }

  it('go out with the answer and come back with the import', async () => {
    const { storage, tokens, answer } = answered();
    const text = storage.exportJsonText();
    const target = openTemp();
    await target.importJson(text);
    const record = target.getTokenRecord(answer.id);
    expect(record?.tokens).toHaveLength(tokens.length);
    record!.tokens.forEach((token, i) => expectSameToken(token, tokens[i]!));
    expect(storage.exportMarkdown(answer.conversationId)).not.toContain('tokens');
  });

  it('refuse a file whose record is not one, importing nothing', async () => {
    const { storage } = answered();
    const file = storage.exportJson();
    const message = file.conversations[0]!.messages.find((m) => m.tokens !== undefined)!;
    message.tokens = Buffer.from(Buffer.from(message.tokens!, 'base64').subarray(0, 20)).toString('base64');
    const target = openTemp();
    await expect(target.importJson(JSON.stringify(file))).rejects.toMatchObject({ code: 'IMPORT_MALFORMED', message: expect.stringContaining('tokens') });
    expect(target.listConversations().items).toHaveLength(0);
  });
});

describe('continuing an answer', () => {
  it('appends to its text and its token record, and is searchable again once finished', () => {
    const storage = openTemp();
    const conversation = storage.createConversation({ title: 'continue' });
    const question = storage.appendUserMessage({ conversationId: conversation.id, content: 'q' });
    const rand = mulberry32(8);
    const tokens = Array.from({ length: 5 }, () => randomToken(rand, 3));
    const first = storage.beginAssistantMessage({ conversationId: conversation.id });
    tokens.slice(0, 3).forEach((token, i) => first.append(`甲${i}`, token));
    first.finish({ status: 'complete', stats: { stopReason: 'max_tokens' } });

    const writer = storage.resumeAssistantMessage(first.messageId);
    expect(storage.getMessage(first.messageId).status).toBe('streaming');
    expect(storage.search('甲0').hits).toHaveLength(0);
    tokens.slice(3).forEach((token, i) => writer.append(`乙${i}`, token));
    const done = writer.finish({ status: 'complete', stats: { stopReason: 'eos' } });

    expect(done.content).toBe('甲0甲1甲2乙0乙1');
    expect(done.id).toBe(first.messageId);
    const record = storage.getTokenRecord(done.id)!;
    expect(record.tokens).toHaveLength(5);
    record.tokens.forEach((token, i) => expectSameToken(token, tokens[i]!));
    expect(storage.search('乙1').hits.map((hit) => hit.messageId)).toEqual([done.id]);
    expect(() => storage.resumeAssistantMessage(question.id)).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  });
});

describe('a token the record cannot hold', () => {
  it('ends the record there; the text is committed all the same', () => {
    const storage = openTemp();
    const conversation = storage.createConversation({ title: 'odd token' });
    const errors: unknown[] = [];
    const writer = storage.beginAssistantMessage({ conversationId: conversation.id }, { maxChunks: 3, intervalMs: 1_000_000, onError: (error) => errors.push(error) });
    const rand = mulberry32(4);
    writer.append('a', randomToken(rand, 2));
    writer.append('b', randomToken(rand, 2));
    writer.append('c', { ...randomToken(rand, 2), tokenId: 2 ** 24 });
    writer.append('d', randomToken(rand, 2));
    const done = writer.finish({ status: 'complete' });
    expect(done.content).toBe('abcd');
    expect(storage.getTokenRecord(done.id)?.tokens.map((token) => token.textLength)).toEqual([1, 1]);
    expect(errors).toEqual([expect.objectContaining({ code: 'INVALID_INPUT' })]);
  });
});

describe('token records in a salvage', () => {
  it('come back with their messages', () => {
    const storage = openTemp();
    const conversation = storage.createConversation({ title: 'salvage' });
    storage.appendUserMessage({ conversationId: conversation.id, content: 'q' });
    const writer = storage.beginAssistantMessage({ conversationId: conversation.id });
    const tokens = Array.from({ length: 4 }, () => randomToken(mulberry32(6), 3));
    tokens.forEach((token) => writer.append('字', token));
    const answer = writer.finish({ status: 'complete' });
    const file = storage.path;
    storage.close();
    const target = `${file}.salvaged`;
    salvageInto(file, target);
    const salvaged = track(Storage.open(target));
    salvaged.getTokenRecord(answer.id)!.tokens.forEach((token, i) => expectSameToken(token, tokens[i]!));
  });
});
