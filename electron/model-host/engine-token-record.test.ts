// What each token event says for the token record, on the bundled tiny model: the model's own
// probabilities beside the sampler's, the entropy, the time the token took.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../scripts/testing/model-fixtures.ts';
import type { HostEventOf, SeededSamplingParams } from '../shared/model-host-protocol.ts';
import { Engine } from './engine.ts';

const untouched: SeededSamplingParams = { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 12, seed: 9 };

describe('token events for the token record', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = new Engine();
    await engine.load({ modelDir: DEMO_MODEL_DIR, dtype: 'fp32', device: 'cpu' }, () => undefined);
  });
  afterAll(async () => engine.unload());

  async function tokens(params: SeededSamplingParams, candidates: number): Promise<Array<Omit<HostEventOf<'token'>, 'type' | 'requestId'>>> {
    const out: Array<Omit<HostEventOf<'token'>, 'type' | 'requestId'>> = [];
    await engine.generate(
      { requestId: 'r', prompt: '床前明月光，', params, candidates, reuseCache: false },
      { onPrefill: () => undefined, onToken: (event) => out.push(event), isCancelled: () => false },
    );
    return out;
  }

  it('with no transform, the model probability is the final one', async () => {
    for (const token of await tokens(untouched, 5)) {
      expect(token.modelProbability).toBeCloseTo(token.probability, 9);
      for (const candidate of token.candidates!) expect(candidate.modelProbability).toBeCloseTo(candidate.probability, 9);
      expect(token.entropyBits).toBeGreaterThan(0);
      expect(token.decodeMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('with a low temperature and top-k, the sampler sharpens what the model said', async () => {
    const events = await tokens({ ...untouched, temperature: 0.3, topK: 3 }, 5);
    for (const token of events) {
      const candidates = token.candidates!;
      expect(candidates.length).toBeLessThanOrEqual(3);
      const modelMass = candidates.reduce((sum, c) => sum + c.modelProbability!, 0);
      expect(modelMass).toBeLessThan(1 + 1e-9);
      // The top candidate gains: a temperature below 1 moves mass to it.
      expect(candidates[0]!.probability).toBeGreaterThanOrEqual(candidates[0]!.modelProbability! - 1e-12);
      const chosen = candidates.find((c) => c.tokenId === token.tokenId)!;
      expect(chosen.modelProbability).toBe(token.modelProbability);
    }
    expect(events.some((token) => Math.abs(token.probability - token.modelProbability!) > 1e-3)).toBe(true);
  });

  it('without candidates, sends no model statistics (the view is off), only the time', async () => {
    for (const token of await tokens(untouched, 0)) {
      expect(token.modelProbability).toBeUndefined();
      expect(token.decodeMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('with stages asked for, the first token carries the sampler stages, the last of which the candidates come from', async () => {
    const out: Array<Omit<HostEventOf<'token'>, 'type' | 'requestId'>> = [];
    const params = { ...untouched, temperature: 0.7, topK: 20, topP: 0.9, minP: 0.02, repetitionPenalty: 1.2, maxNewTokens: 2 };
    await engine.generate(
      { requestId: 'r', prompt: '床前明月光，', params, candidates: 5, reuseCache: false, stages: true },
      { onPrefill: () => undefined, onToken: (event) => out.push(event), isCancelled: () => false },
    );
    const [first, second] = out;
    expect(first!.stages!.map((stage) => stage.name)).toEqual(['penalty', 'temperature', 'top-k', 'top-p', 'min-p']);
    expect(first!.stages!.every((stage) => stage.active)).toBe(true);
    const last = first!.stages!.at(-1)!;
    expect(last.top.map((t) => t.tokenId)).toEqual(first!.candidates!.map((c) => c.tokenId));
    last.top.forEach((t, i) => expect(t.probability).toBeCloseTo(first!.candidates![i]!.probability, 9));
    expect(first!.stages![2]!.kept).toBe(20);
    expect(second!.stages).toBeUndefined();
  });
});
