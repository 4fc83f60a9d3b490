import { describe, expect, it } from 'vitest';
import { sampleToken, SeededRandom } from './sampler.ts';
import { modelDistribution } from './token-statistics.ts';

describe('modelDistribution', () => {
  it('is the softmax of the raw logits, with its entropy in bits', () => {
    const random = new SeededRandom(4);
    const logits = Float32Array.from({ length: 500 }, () => (random.next() * 2 - 1) * 6 + 40);
    const weights = Array.from(logits, (x) => Math.exp(x - 40));
    const total = weights.reduce((a, b) => a + b, 0);
    const reference = weights.map((w) => w / total);
    const entropy = -reference.reduce((sum, p) => sum + p * Math.log2(p), 0);
    const model = modelDistribution(logits);
    for (const id of [0, 17, 499]) expect(model.probability(id)).toBeCloseTo(reference[id]!, 12);
    expect(model.entropyBits).toBeCloseTo(entropy, 9);
  });

  it('gives a uniform distribution log2(n) bits and a certain one none', () => {
    expect(modelDistribution(new Float32Array(1024)).entropyBits).toBeCloseTo(10, 9);
    const certain = new Float32Array(8).fill(-1e4);
    certain[3] = 0;
    expect(modelDistribution(certain).entropyBits).toBeCloseTo(0, 9);
    expect(modelDistribution(certain).probability(3)).toBe(1);
  });

  it('hands the sampler its scan: greedy with it picks and reports exactly what greedy without it does', () => {
    const random = new SeededRandom(9);
    const greedy = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 };
    for (let seed = 0; seed < 20; seed++) {
      // Ties included: the first of equal maxima wins either way.
      const logits = Float32Array.from({ length: 2000 }, () => Math.round((random.next() * 2 - 1) * 40) / 4);
      const { scale } = modelDistribution(logits);
      expect(logits[scale.argmax]).toBe(Math.max(...logits));
      expect(sampleToken(logits, greedy, new SeededRandom(seed), [], 5, scale)).toEqual(sampleToken(logits, greedy, new SeededRandom(seed), [], 5));
      // A penalty changes the logits the sampler scans: the model's scan no longer applies.
      const penalised = { ...greedy, repetitionPenalty: 1.3 };
      const recent = [scale.argmax, 5, 9];
      expect(sampleToken(logits, penalised, new SeededRandom(seed), recent, 5, scale)).toEqual(sampleToken(logits, penalised, new SeededRandom(seed), recent, 5));
    }
  });
});
