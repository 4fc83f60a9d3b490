import { describe, expect, it } from 'vitest';
import { generationDefaults } from './generation-defaults.ts';

describe('generationDefaults', () => {
  it("takes Qwen2.5 Instruct's recommended sampling as the model's defaults", () => {
    const qwen = { bos_token_id: 151643, do_sample: true, eos_token_id: [151645, 151643], pad_token_id: 151643, repetition_penalty: 1.05, temperature: 0.7, top_k: 20, top_p: 0.8 };
    expect(generationDefaults(qwen)).toEqual({ sampling: { temperature: 0.7, topK: 20, topP: 0.8, repetitionPenalty: 1.05 }, ignored: [] });
  });

  it('maps min_p and max_new_tokens, and reads do_sample: false as greedy', () => {
    expect(generationDefaults({ min_p: 0.1, max_new_tokens: 256 }).sampling).toEqual({ minP: 0.1, maxNewTokens: 256 });
    const greedy = generationDefaults({ do_sample: false, temperature: 0.6 });
    expect(greedy.sampling).toEqual({ temperature: 0 });
    expect(greedy.ignored).toEqual([{ key: 'temperature', reason: expect.stringContaining('greedy') as string }]);
  });

  it('leaves out and names values the sampler would refuse, and ignores what is not an object', () => {
    const odd = generationDefaults({ temperature: -1, top_p: 0, top_k: 2.5, repetition_penalty: 'high', max_new_tokens: 10 });
    expect(odd.sampling).toEqual({ maxNewTokens: 10 });
    expect(odd.ignored.map((i) => i.key)).toEqual(['temperature', 'top_k', 'top_p', 'repetition_penalty']);
    expect(odd.ignored[0]!.reason).toBe('temperature must be 0 (greedy) or more');
    for (const nothing of [null, 7, 'x', [1]]) expect(generationDefaults(nothing)).toEqual({ sampling: {}, ignored: [] });
  });
});
