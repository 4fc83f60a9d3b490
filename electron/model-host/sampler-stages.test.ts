import { describe, expect, it } from 'vitest';
import { finalDistribution, sampleToken, SeededRandom } from './sampler.ts';
import { runStages, samplerStages } from './sampler-stages.ts';

type Params = { temperature: number; topK: number; topP: number; minP: number; repetitionPenalty: number };
const plain: Params = { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 };
const recent = [3, 7, 7, 11, 30];

const cases: [string, Params][] = [
  ['temperature 0.5', { ...plain, temperature: 0.5 }],
  ['top-k 5', { ...plain, topK: 5 }],
  ['top-p 0.6', { ...plain, topP: 0.6 }],
  ['min-p 0.2', { ...plain, minP: 0.2 }],
  ['penalty 1.3', { ...plain, repetitionPenalty: 1.3 }],
  ['all together', { temperature: 0.8, topK: 12, topP: 0.9, minP: 0.05, repetitionPenalty: 1.2 }],
  // Top-p over the whole vocabulary stops lowering its floor at min-p's: either may cut.
  ['top-p 0.98 with min-p 0.05', { ...plain, temperature: 1.1, topP: 0.98, minP: 0.05, repetitionPenalty: 1.05 }],
  ['top-p 0.9 with min-p 0.05', { ...plain, topP: 0.9, minP: 0.05 }],
  ['greedy', { ...plain, temperature: 0, topK: 8 }],
];

function randomLogits(n: number, seed: number, scale = 3): Float32Array {
  const rng = new SeededRandom(seed);
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

function asMap(distribution: { tokenIds: Int32Array; probabilities: Float64Array }): Map<number, number> {
  return new Map(Array.from(distribution.tokenIds, (id, i) => [id, distribution.probabilities[i]!]));
}

describe('the sampler as a list of stages', () => {
  it.each(cases)('%s: the last stage is the distribution the sampler draws from', (_name, params) => {
    for (let seed = 1; seed <= 12; seed++) {
      const logits = randomLogits(300, seed, 1 + (seed % 6));
      const staged = asMap(runStages(logits, samplerStages(params, recent)).final);
      const sampler = asMap(finalDistribution(logits, params, recent));
      expect([...staged.keys()].sort((a, b) => a - b)).toEqual([...sampler.keys()].sort((a, b) => a - b));
      for (const [id, p] of sampler) expect(staged.get(id)).toBeCloseTo(p, 12);
    }
  });

  // The statistical test of sampler.test.ts, with the stage list's final distribution as the
  // truth: frequencies within 5 standard errors (plus 1e-4), nothing drawn from outside it.
  it.each(cases.filter(([name]) => name !== 'greedy'))('%s: 100k seeded draws of the sampler match the last stage', (_name, params) => {
    const logits = randomLogits(40, 42, 2);
    const expected = asMap(runStages(logits, samplerStages(params, recent)).final);
    const random = new SeededRandom(1234);
    const draws = 100_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < draws; i++) {
      const { tokenId } = sampleToken(logits, params, random, recent);
      counts.set(tokenId, (counts.get(tokenId) ?? 0) + 1);
    }
    for (const id of counts.keys()) expect(expected.has(id), `token ${id} is outside the distribution`).toBe(true);
    for (const [id, p] of expected) {
      const frequency = (counts.get(id) ?? 0) / draws;
      expect(Math.abs(frequency - p), `token ${id}: frequency ${frequency} vs p ${p}`).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / draws) + 1e-4);
    }
  });

  it('says what each stage removed and the mass it left', () => {
    const logits = randomLogits(300, 9);
    const { final, summaries } = runStages(logits, samplerStages({ temperature: 0.7, topK: 20, topP: 0.8, minP: 0, repetitionPenalty: 1 }), 3);
    expect(summaries.map((s) => [s.name, s.active])).toEqual([
      ['penalty', false],
      ['temperature', true],
      ['top-k', true],
      ['top-p', true],
      ['min-p', false],
    ]);
    const [penalty, temperature, topK, topP, minP] = summaries;
    expect(penalty).toMatchObject({ kept: 300, removed: 0 });
    expect(penalty!.massLeft).toBeCloseTo(1, 12);
    expect(temperature).toMatchObject({ kept: 300, removed: 0 });
    expect(topK).toMatchObject({ kept: 20, removed: 280 });
    expect(topK!.massLeft).toBeLessThan(1);
    expect(topP!.kept + topP!.removed).toBe(20);
    expect(topP!.massLeft).toBeGreaterThanOrEqual(0.8);
    expect(minP!.kept).toBe(final.tokenIds.length);
    expect(topP!.top).toHaveLength(3);
    expect(topP!.top[0]!.probability).toBeGreaterThanOrEqual(topP!.top[1]!.probability);
  });
});
