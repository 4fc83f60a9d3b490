import { describe, expect, it } from 'vitest';
import type { TokenRecord } from '@shared/token-record.ts';
import { answerFromRecord } from './stored-answer.ts';

const message = { id: 'm', conversationId: 'c', content: '床前明月光', status: 'complete' as const, stats: { forkedAt: 1 } };
const token = (tokenId: number, textLength: number): TokenRecord['tokens'][number] => ({
  tokenId,
  textLength,
  probability: 0.5,
  modelProbability: null,
  entropyBits: 2,
  decodeMs: null,
  candidates: [{ tokenId, text: `t${tokenId}`, probability: 0.5, modelProbability: null }],
});

describe('answerFromRecord', () => {
  it('gives each token the slice of the stored text it wrote, unknown values left out', () => {
    const result = answerFromRecord(message, { messageId: 'm', tokens: [token(1, 2), token(2, 0), token(3, 3)] });
    if (result.kind !== 'record') throw new Error(`expected a record, got ${result.kind}`);
    expect(result.answer.tokens.map((t) => t.text)).toEqual(['床前', '', '明月光']);
    expect(result.answer.text).toBe('床前明月光');
    expect(result.answer.finished).toBe(true);
    expect(result.answer.forkAt).toBe(1);
    expect(result.answer.tokens[0]).toMatchObject({ entropyBits: 2, modelProbability: undefined, decodeMs: undefined });
    expect(result.answer.tokens[0]!.candidates![0]).toEqual({ tokenId: 1, text: 't1', probability: 0.5 });
  });

  it('says when there is no record, or one that cannot be read', () => {
    expect(answerFromRecord(message, null)).toEqual({ kind: 'none' });
    expect(answerFromRecord(message, { messageId: 'm', tokens: [], unreadable: true })).toEqual({ kind: 'unreadable' });
  });
});
