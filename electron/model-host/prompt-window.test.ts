import { describe, expect, it } from 'vitest';
import { ModelHostError } from '../shared/model-host-error.ts';
import type { ChatMessage } from '../shared/model-host-protocol.ts';
import { fitPrompt } from './prompt-window.ts';

// One token per character of content plus 3 per message: simple enough to reason about.
const encode = (messages: ChatMessage[]): number[] => messages.flatMap((m) => [1, 2, ...Array.from(m.content, () => 7), 3]);

const conversation: ChatMessage[] = [
  { role: 'system', content: 'sys' },
  { role: 'user', content: 'aaaaaaaaaa' },
  { role: 'assistant', content: 'bbbbbbbbbb' },
  { role: 'user', content: 'cccccccccc' },
  { role: 'assistant', content: 'dddddddddd' },
  { role: 'user', content: 'last' },
];

describe('fitPrompt', () => {
  it('keeps everything when it fits', () => {
    const fitted = fitPrompt(conversation, 10, 1000, encode);
    expect(fitted.droppedMessages).toBe(0);
    expect(fitted.tokenIds).toEqual(encode(conversation));
  });

  it('drops the oldest turns first, keeps the system prompt, and never starts on an assistant turn', () => {
    // all: 6 + 4*13 + 7 = 65 tokens. Dropping the first user turn alone would start on an assistant turn.
    const fitted = fitPrompt(conversation, 20, 60, encode);
    const kept = [conversation[0]!, ...conversation.slice(3)];
    expect(fitted.droppedMessages).toBe(2);
    expect(fitted.tokenIds).toEqual(encode(kept));
    expect(fitted.tokenIds.length + 20).toBeLessThanOrEqual(60);
  });

  it('answers with what is left when only the last message fits', () => {
    const fitted = fitPrompt(conversation, 500, 20, encode);
    expect(fitted.tokenIds).toEqual(encode([conversation[0]!, conversation[5]!]));
    expect(fitted.droppedMessages).toBe(4);
  });

  it('refuses with context_full when even the last message cannot fit', () => {
    const long: ChatMessage[] = [{ role: 'user', content: 'x'.repeat(100) }];
    expect(() => fitPrompt(long, 10, 50, encode)).toThrow(ModelHostError);
    try {
      fitPrompt(long, 10, 50, encode);
    } catch (error) {
      expect((error as ModelHostError).code).toBe('context_full');
      expect((error as ModelHostError).message).toMatch(/103 tokens.*holds 50/);
    }
  });
});
