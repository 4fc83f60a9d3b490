import { describe, expect, it } from 'vitest';
import { finalDistribution, REPETITION_WINDOW, sampleToken, SeededRandom, topIndices } from './sampler.ts';

type Params = { temperature: number; topK: number; topP: number; minP: number; repetitionPenalty: number };
const plain: Params = { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 };

/** The textbook definition, written the slow way: full sort, then each filter in turn. */
function referenceDistribution(logits: Float32Array, p: Params): Map<number, number> {
  const t = p.temperature > 0 ? p.temperature : 1;
  let entries = Array.from(logits, (logit, id) => ({ id, logit })).sort((a, b) => b.logit - a.logit || a.id - b.id);
  if (p.topK > 0) entries = entries.slice(0, p.topK);
  const max = entries[0]!.logit;
  let probs = entries.map((e) => ({ id: e.id, p: Math.exp((e.logit - max) / t) }));
  const z = probs.reduce((s, e) => s + e.p, 0);
  probs = probs.map((e) => ({ id: e.id, p: e.p / z }));
  if (p.topP < 1) {
    let cumulative = 0;
    const kept = [];
    for (const e of probs) {
      kept.push(e);
      cumulative += e.p;
      if (cumulative >= p.topP) break;
    }
    probs = kept;
  }
  if (p.minP > 0) {
    const pMax = probs[0]!.p;
    probs = probs.filter((e) => e.p >= p.minP * pMax);
  }
  const total = probs.reduce((s, e) => s + e.p, 0);
  return new Map(probs.map((e) => [e.id, e.p / total]));
}

function randomLogits(n: number, seed: number, scale = 3): Float32Array {
  const rng = new SeededRandom(seed);
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

function asMap(logits: Float32Array, p: Params): Map<number, number> {
  const d = finalDistribution(logits, p);
  return new Map(Array.from(d.tokenIds, (id, i) => [id, d.probabilities[i]!]));
}

const cases: [string, Params][] = [
  ['temperature 0.5', { ...plain, temperature: 0.5 }],
  ['temperature 1.7', { ...plain, temperature: 1.7 }],
  ['top-k 5', { ...plain, topK: 5 }],
  ['top-p 0.6', { ...plain, topP: 0.6 }],
  ['min-p 0.2', { ...plain, minP: 0.2 }],
  ['all together', { temperature: 0.8, topK: 12, topP: 0.9, minP: 0.05, repetitionPenalty: 1 }],
];

describe('finalDistribution', () => {
  it.each(cases)('%s equals the textbook truncated and renormalised distribution', (_name, params) => {
    for (const seed of [1, 2, 3]) {
      const logits = randomLogits(300, seed);
      const expected = referenceDistribution(logits, params);
      const actual = asMap(logits, params);
      expect([...actual.keys()].sort((a, b) => a - b)).toEqual([...expected.keys()].sort((a, b) => a - b));
      for (const [id, p] of expected) expect(actual.get(id)).toBeCloseTo(p, 12);
    }
  });

  it('handles top-p over a large vocabulary with a peaked distribution', () => {
    const logits = randomLogits(49_152, 9, 8);
    const params = { ...plain, topP: 0.95 };
    const expected = referenceDistribution(logits, params);
    const actual = asMap(logits, params);
    expect(actual.size).toBe(expected.size);
    for (const [id, p] of expected) expect(actual.get(id)).toBeCloseTo(p, 12);
  });

  it('penalises recently seen tokens the way Hugging Face does', () => {
    const logits = Float32Array.from([2, -1, 0.5, 1]);
    const d = asMap(logits, { ...plain, repetitionPenalty: 2 });
    const penalised = asMap(Float32Array.from([2, -1, 0.5, 1]), plain);
    expect(d.get(0)).toBeCloseTo(penalised.get(0)!, 12); // nothing seen: no change
    const withHistory = finalDistribution(logits, { ...plain, repetitionPenalty: 2 }, [0, 1, 0]);
    const map = new Map(Array.from(withHistory.tokenIds, (id, i) => [id, withHistory.probabilities[i]!]));
    const expected = referenceDistribution(Float32Array.from([1, -2, 0.5, 1]), plain);
    for (const [id, p] of expected) expect(map.get(id)).toBeCloseTo(p, 12);
    expect(logits[0]).toBe(2); // the caller's logits are not changed
  });

  it('only penalises the recent window', () => {
    const history = [0, ...Array.from({ length: REPETITION_WINDOW }, () => 3)];
    const logits = Float32Array.from([2, 0, 0, 1]);
    const d = asMap(logits, plain);
    const withOld = finalDistribution(logits, { ...plain, repetitionPenalty: 3 }, history);
    const p0 = withOld.probabilities[Array.from(withOld.tokenIds).indexOf(0)]!;
    expect(p0).toBeGreaterThan(d.get(0)!); // token 0 is out of the window; token 3 got pushed down
  });
});

describe('sampleToken', () => {
  // Empirical frequencies over many seeded draws match the exact distribution. Tolerance: each
  // token's frequency within 5 standard errors of its probability (sqrt(p(1-p)/N)) plus 1e-4,
  // which a correct sampler fails with probability well under 1e-5 per token; and tokens
  // outside the distribution are never drawn.
  it.each(cases)('%s: empirical frequencies match over 100k seeded draws', (_name, params) => {
    const logits = randomLogits(40, 42, 2);
    const expected = referenceDistribution(logits, params);
    const random = new SeededRandom(1234);
    const draws = 100_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < draws; i++) {
      const { tokenId } = sampleToken(logits, params, random);
      counts.set(tokenId, (counts.get(tokenId) ?? 0) + 1);
    }
    for (const id of counts.keys()) expect(expected.has(id), `token ${id} is outside the distribution`).toBe(true);
    for (const [id, p] of expected) {
      const frequency = (counts.get(id) ?? 0) / draws;
      const tolerance = 5 * Math.sqrt((p * (1 - p)) / draws) + 1e-4;
      expect(Math.abs(frequency - p), `token ${id}: frequency ${frequency} vs p ${p}`).toBeLessThanOrEqual(tolerance);
    }
  });

  it('greedy picks the most probable token and never consults the random source', () => {
    const logits = randomLogits(1000, 5);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    const random = new SeededRandom(1);
    const before = new SeededRandom(1).next();
    const pick = sampleToken(logits, { ...plain, temperature: 0, topK: 40 }, random, [], 3);
    expect(pick.tokenId).toBe(best);
    expect(pick.candidates?.[0]?.tokenId).toBe(best);
    expect(pick.candidates?.[0]?.probability).toBeCloseTo(pick.probability, 12);
    expect(random.next()).toBe(before);
  });

  it('over the whole vocabulary (no truncation) reports full-softmax probabilities', () => {
    const logits = randomLogits(3000, 21);
    const params = { ...plain, temperature: 0 };
    const expected = referenceDistribution(logits, plain);
    const pick = sampleToken(logits, params, new SeededRandom(1), [], 4);
    const best = [...expected.entries()].sort((a, b) => b[1] - a[1]);
    expect(pick.tokenId).toBe(best[0]![0]);
    expect(pick.probability).toBeCloseTo(best[0]![1], 12);
    expect(pick.candidates?.map((c) => c.tokenId)).toEqual(best.slice(0, 4).map(([id]) => id));
    pick.candidates?.forEach((c, i) => expect(c.probability).toBeCloseTo(best[i]![1], 12));
  });

  it('the same seed gives the same tokens and another seed different ones', () => {
    const logits = randomLogits(500, 11, 1);
    const run = (seed: number) => {
      const random = new SeededRandom(seed);
      return Array.from({ length: 50 }, () => sampleToken(logits, { ...plain, temperature: 1 }, random).tokenId);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('candidates are the final distribution’s best tokens, best first, with the chosen probability', () => {
    const logits = randomLogits(200, 3);
    const params = { ...plain, topK: 10, temperature: 0.9 };
    const pick = sampleToken(logits, params, new SeededRandom(3), [], 5);
    const expected = [...referenceDistribution(logits, params).entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    expect(pick.candidates?.map((c) => c.tokenId)).toEqual(expected.map(([id]) => id));
    const chosen = referenceDistribution(logits, params).get(pick.tokenId)!;
    expect(pick.probability).toBeCloseTo(chosen, 12);
  });
});

describe('topIndices', () => {
  it('on ties keeps the smaller index, as a stable sort by value would, for any k', () => {
    const random = new SeededRandom(11);
    for (let round = 0; round < 50; round++) {
      // Few distinct values: many ties, including at the k-th place.
      const values = Float32Array.from({ length: 300 }, () => Math.floor(random.next() * 12));
      const k = 1 + Math.floor(random.next() * 40);
      const expected = Array.from(values.keys()).sort((a, b) => values[b]! - values[a]! || a - b).slice(0, k);
      expect(Array.from(topIndices(values, k))).toEqual(expected);
    }
  });

  it('returns the k largest, largest first', () => {
    const values = randomLogits(5000, 8);
    const expected = Array.from(values, (v, i) => [v, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 17)
      .map(([, i]) => i);
    expect(Array.from(topIndices(values, 17))).toEqual(expected);
  });
});

describe('SeededRandom', () => {
  it('is uniform enough on [0, 1)', () => {
    const random = new SeededRandom(99);
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const u = random.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      bins[Math.floor(u * 10)]!++;
    }
    for (const count of bins) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });
});
