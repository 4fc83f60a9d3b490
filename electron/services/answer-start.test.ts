import { describe, expect, it } from 'vitest';
import type { Message } from '../shared/chat-types.ts';
import { checkSameModel } from './answer-start.ts';

const answer = (modelId: string | null) => ({ id: 'a', modelId }) as Message;

describe('going on from an answer’s tokens', () => {
  it('needs the model that chose them, on this computer', () => {
    expect(() => checkSameModel(answer('jielong-poet'), 'jielong-poet')).not.toThrow();
    expect(() => checkSameModel(answer('jielong-poet'), 'jielong-tiny-random')).toThrow(/written by the model "jielong-poet"/);
    expect(() => checkSameModel(answer('remote-gpt-1234abcd'), 'remote-gpt-1234abcd')).toThrow(/remote server/);
    expect(() => checkSameModel(answer('jielong-poet'), 'remote-gpt-1234abcd')).toThrow(/remote server/);
  });
});
