// Picks the next token from a row of logits: repetition penalty -> temperature -> top-k ->
// top-p -> min-p -> a seeded draw. Runs once per generated token, so it avoids sorting the
// whole vocabulary: top-k uses a heap, top-p sorts only the tokens that can be in the nucleus.
import type { SamplingParams } from '../shared/model-host-protocol.ts';

/** A seeded source of uniform numbers in [0, 1): xoshiro128** seeded through splitmix32. */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const splitmix = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix();
    this.s1 = splitmix();
    this.s2 = splitmix();
    this.s3 = splitmix();
  }

  next(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The distribution the draw is made from: token ids with their renormalised probabilities (in no promised order). */
export interface TokenDistribution {
  tokenIds: Int32Array;
  probabilities: Float64Array;
}

export interface SampledToken {
  tokenId: number;
  /** Probability of the chosen token in the final distribution. */
  probability: number;
  /** The most probable tokens of the final distribution, best first (only when asked). */
  candidates?: { tokenId: number; probability: number }[];
}

/** Tokens seen this recently are penalised (llama.cpp uses 64; a longer window suits chat answers). */
export const REPETITION_WINDOW = 256;

type Transforms = Pick<SamplingParams, 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty'>;

/**
 * Applies the transforms to `logits` (left untouched) and returns the final distribution.
 * Greedy (temperature 0) uses temperature 1 for the probabilities it reports: the choice is
 * the most probable token either way.
 */
export function finalDistribution(logits: Float32Array, params: Transforms, recentTokens: ArrayLike<number> = []): TokenDistribution {
  const vocab = logits.length;
  const penalised = applyRepetitionPenalty(logits, recentTokens, params.repetitionPenalty);
  const temperature = params.temperature > 0 ? params.temperature : 1;

  let ids: Int32Array;
  let probs: Float64Array;
  if (params.topK > 0 && params.topK < vocab) {
    // top-k: softmax over the k best only.
    ids = topIndices(penalised, params.topK);
    const max = penalised[ids[0]!]!;
    probs = new Float64Array(ids.length);
    let sum = 0;
    for (let i = 0; i < ids.length; i++) sum += probs[i] = Math.exp((penalised[ids[i]!]! - max) / temperature);
    for (let i = 0; i < probs.length; i++) probs[i]! /= sum;
  } else {
    // The whole vocabulary, without materialising it: top-p and min-p can only keep tokens
    // above a logit threshold, so only those are collected, with their full-softmax probabilities.
    const { max, sum } = softmaxScale(penalised, temperature);
    let threshold = -Infinity;
    if (params.minP > 0) threshold = max + temperature * Math.log(params.minP);
    if (params.topP < 1) threshold = Math.max(threshold, nucleusFloorLogit(penalised, max, sum, temperature, params.topP, threshold));
    let count = 0;
    for (let i = 0; i < vocab; i++) if (penalised[i]! >= threshold) count++;
    ids = new Int32Array(count);
    probs = new Float64Array(count);
    for (let i = 0, j = 0; i < vocab; i++) {
      if (penalised[i]! >= threshold) {
        ids[j] = i;
        probs[j++] = Math.exp((penalised[i]! - max) / temperature) / sum;
      }
    }
  }

  // top-p: the smallest most-probable set whose mass reaches topP.
  if (params.topP < 1) ({ ids, probs } = nucleus(ids, probs, params.topP));

  // min-p: drop tokens less probable than minP times the most probable one.
  if (params.minP > 0) {
    let pMax = 0;
    for (let i = 0; i < probs.length; i++) pMax = Math.max(pMax, probs[i]!);
    const threshold = params.minP * pMax;
    let kept = 0;
    for (let i = 0; i < probs.length; i++) if (probs[i]! >= threshold) kept++;
    const keptIds = new Int32Array(kept);
    const keptProbs = new Float64Array(kept);
    for (let i = 0, j = 0; i < probs.length; i++) {
      if (probs[i]! >= threshold) {
        keptIds[j] = ids[i]!;
        keptProbs[j++] = probs[i]!;
      }
    }
    ids = keptIds;
    probs = keptProbs;
  }

  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i]!;
  for (let i = 0; i < probs.length; i++) probs[i]! /= total;

  return { tokenIds: ids, probabilities: probs };
}

/** Draws the next token. `random` is only consulted when temperature > 0. */
export function sampleToken(
  logits: Float32Array,
  params: Transforms,
  random: SeededRandom,
  recentTokens: ArrayLike<number> = [],
  candidateCount = 0,
  rawScale?: LogitScale,
): SampledToken {
  if ((params.topK <= 0 || params.topK >= logits.length) && params.topP >= 1 && params.minP <= 0) {
    const penalised = applyRepetitionPenalty(logits, recentTokens, params.repetitionPenalty);
    // The token view already scanned these logits at temperature 1: greedy without a penalty reuses it.
    const t = params.temperature > 0 ? params.temperature : 1;
    const scale = rawScale && penalised === logits && t === 1 ? rawScale : softmaxScale(penalised, t);
    return sampleWholeVocabulary(penalised, params.temperature, random, candidateCount, scale);
  }
  const { tokenIds, probabilities } = finalDistribution(logits, params, recentTokens);
  let index = 0;
  if (params.temperature === 0) {
    for (let i = 1; i < probabilities.length; i++) if (probabilities[i]! > probabilities[index]!) index = i;
  } else {
    const u = random.next();
    let cumulative = 0;
    index = probabilities.length - 1;
    for (let i = 0; i < probabilities.length; i++) {
      cumulative += probabilities[i]!;
      if (u < cumulative) {
        index = i;
        break;
      }
    }
  }
  const result: SampledToken = { tokenId: tokenIds[index]!, probability: probabilities[index]! };
  if (candidateCount > 0) {
    const best = topIndices(probabilities, Math.min(candidateCount, probabilities.length));
    result.candidates = Array.from(best, (i) => ({ tokenId: tokenIds[i]!, probability: probabilities[i]! }));
  }
  return result;
}

/** No truncation: draw from the full softmax by scanning the logits, allocating nothing vocabulary-sized. */
function sampleWholeVocabulary(logits: Float32Array, temperature: number, random: SeededRandom, candidateCount: number, scale: LogitScale): SampledToken {
  const t = temperature > 0 ? temperature : 1;
  const { max, sum, argmax } = scale;
  // Greedy: the most probable token is the one the max scan found (the first of equals).
  let chosen = argmax;
  if (temperature > 0) {
    const target = random.next() * sum;
    let cumulative = 0;
    chosen = logits.length - 1;
    for (let i = 0; i < logits.length; i++) {
      cumulative += Math.exp((logits[i]! - max) / t);
      if (target < cumulative) {
        chosen = i;
        break;
      }
    }
  }
  const probability = (id: number): number => Math.exp((logits[id]! - max) / t) / sum;
  const result: SampledToken = { tokenId: chosen, probability: probability(chosen) };
  if (candidateCount > 0) result.candidates = Array.from(topIndices(logits, candidateCount), (id) => ({ tokenId: id, probability: probability(id) }));
  return result;
}

/** The max logit, where it first is, and the softmax denominator relative to it. */
export interface LogitScale {
  max: number;
  argmax: number;
  sum: number;
}

/** The max logit and where it first is: the scan the sampler and the token record share. */
export function maxLogit(logits: Float32Array): { max: number; argmax: number } {
  let max = -Infinity;
  let argmax = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i]! > max) {
      max = logits[i]!;
      argmax = i;
    }
  }
  return { max, argmax };
}

/** The max logit (and where it is first) and the softmax denominator at temperature t (relative to the max). */
function softmaxScale(logits: Float32Array, t: number): LogitScale {
  const { max, argmax } = maxLogit(logits);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i]! - max) / t);
  return { max, sum, argmax };
}

/**
 * A logit at or below the nucleus's smallest member: lowered one halving of probability at a
 * time until the tokens above it hold at least topP of the mass. Stops at `lowest` (min-p's
 * threshold), below which the caller's max() would not take it anyway: each step is a pass
 * over the vocabulary.
 */
function nucleusFloorLogit(logits: Float32Array, max: number, sum: number, t: number, topP: number, lowest: number): number {
  const step = t * Math.LN2;
  for (let floor = max; ; floor -= step) {
    if (floor <= lowest) return lowest;
    let mass = 0;
    for (let i = 0; i < logits.length; i++) if (logits[i]! >= floor) mass += Math.exp((logits[i]! - max) / t);
    if (mass / sum >= topP || floor < max - 1500 * t) return floor;
  }
}

/** HF-style penalty: positive logits divided by it, negative ones multiplied. Returns a copy when it changes anything. */
function applyRepetitionPenalty(logits: Float32Array, recentTokens: ArrayLike<number>, penalty: number): Float32Array {
  if (penalty === 1 || recentTokens.length === 0) return logits;
  const out = new Float32Array(logits);
  const seen = new Set<number>();
  const start = Math.max(0, recentTokens.length - REPETITION_WINDOW);
  for (let i = start; i < recentTokens.length; i++) {
    const id = recentTokens[i]!;
    if (seen.has(id) || id < 0 || id >= out.length) continue;
    seen.add(id);
    const value = out[id]!;
    out[id] = value > 0 ? value / penalty : value * penalty;
  }
  return out;
}

/** Indices of the k largest values, largest first (a min-heap of size k: O(n log k)). */
export function topIndices(values: ArrayLike<number>, k: number): Int32Array {
  const heap = new Int32Array(k);
  let size = 0;
  const less = (a: number, b: number): boolean => values[a]! < values[b]! || (values[a] === values[b] && a > b);
  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < size && less(heap[l]!, heap[smallest]!)) smallest = l;
      if (r < size && less(heap[r]!, heap[smallest]!)) smallest = r;
      if (smallest === i) return;
      const tmp = heap[i]!;
      heap[i] = heap[smallest]!;
      heap[smallest] = tmp;
      i = smallest;
    }
  };
  let idx = 0;
  for (; idx < values.length && size < k; idx++) {
    let i = size++;
    heap[i] = idx;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i]!, heap[parent]!)) break;
      const tmp = heap[i]!;
      heap[i] = heap[parent]!;
      heap[parent] = tmp;
      i = parent;
    }
  }
  // The heap is full: a later index replaces the weakest only with a strictly larger value (an
  // equal one loses the tie to the smaller index already held), so most of the vocabulary costs
  // one comparison.
  let floor = size > 0 ? values[heap[0]!]! : Infinity;
  for (; idx < values.length; idx++) {
    if (values[idx]! > floor) {
      heap[0] = idx;
      siftDown(0);
      floor = values[heap[0]!]!;
    }
  }
  const out = new Int32Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = heap[0]!;
    heap[0] = heap[--size]!;
    siftDown(0);
  }
  return out;
}

/**
 * The nucleus, most probable first. Only tokens at or above a probability floor L are sorted,
 * with L halved until the mass at or above it reaches topP: that set is a prefix of the fully
 * sorted order with enough mass, so it contains the nucleus.
 */
function nucleus(ids: Int32Array, probs: Float64Array, topP: number): { ids: Int32Array; probs: Float64Array } {
  let pMax = 0;
  for (let i = 0; i < probs.length; i++) pMax = Math.max(pMax, probs[i]!);
  let floor = pMax;
  for (;;) {
    let mass = 0;
    for (let i = 0; i < probs.length; i++) if (probs[i]! >= floor) mass += probs[i]!;
    if (mass >= topP || floor === 0) break;
    floor = floor < 1e-300 ? 0 : floor / 2;
  }
  let count = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i]! >= floor) count++;
  const candIds = new Int32Array(count);
  const candProbs = new Float64Array(count);
  for (let i = 0, j = 0; i < probs.length; i++) {
    if (probs[i]! >= floor) {
      candIds[j] = ids[i]!;
      candProbs[j++] = probs[i]!;
    }
  }
  const sorted = sortByProbability(candIds, candProbs);
  let cumulative = 0;
  let keep = sorted.probs.length;
  for (let i = 0; i < sorted.probs.length; i++) {
    cumulative += sorted.probs[i]!;
    if (cumulative >= topP) {
      keep = i + 1;
      break;
    }
  }
  return { ids: sorted.ids.slice(0, keep), probs: sorted.probs.slice(0, keep) };
}

function sortByProbability(ids: Int32Array, probs: Float64Array): { ids: Int32Array; probs: Float64Array } {
  const order = Array.from({ length: ids.length }, (_, i) => i);
  order.sort((a, b) => probs[b]! - probs[a]! || ids[a]! - ids[b]!);
  return {
    ids: Int32Array.from(order, (i) => ids[i]!),
    probs: Float64Array.from(order, (i) => probs[i]!),
  };
}
