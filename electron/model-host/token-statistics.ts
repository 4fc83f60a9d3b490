// What the model itself said at one position, before the sampler reshaped it: the softmax of
// the raw logits (no penalty, temperature 1, nothing cut) and its entropy. The token view shows
// these beside the sampler's final probabilities, so a user sees what the settings changed.
// Two passes over the vocabulary; run only when the token view asked for candidates. Its scan
// doubles as the sampler's at temperature 1 (`scale`), so greedy does not scan again.
import { maxLogit, type LogitScale } from './sampler.ts';

export interface ModelDistribution {
  /** Softmax probability of `tokenId` under the raw logits. */
  probability(tokenId: number): number;
  /** Entropy of the whole distribution, in bits. */
  entropyBits: number;
  /** The max, where it first is, and the softmax denominator: bit for bit what the sampler computes at temperature 1. */
  scale: LogitScale;
}

export function modelDistribution(logits: Float32Array): ModelDistribution {
  const { max, argmax } = maxLogit(logits);
  // H = ln Z - E[x - max] with Z = sum exp(x - max): one pass after the max.
  let sum = 0;
  let weighted = 0;
  for (let i = 0; i < logits.length; i++) {
    const shifted = logits[i]! - max;
    const e = Math.exp(shifted);
    sum += e;
    weighted += e * shifted;
  }
  const entropyNats = Math.log(sum) - weighted / sum;
  return {
    probability: (tokenId) => Math.exp(logits[tokenId]! - max) / sum,
    entropyBits: Math.max(0, entropyNats / Math.LN2),
    scale: { max, argmax, sum },
  };
}
