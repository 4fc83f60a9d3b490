// The pick a user made instead of the sampler: branching from a token, the new answer takes the
// candidate chosen at that position. It is reported like any sampled token (the same final
// distribution, the same top candidates), so the record shows what the model offered and
// which one the user took, at the probability the sampler gave it (0 if the sampler had cut it).
import type { SamplingParams } from '../shared/model-host-protocol.ts';
import { finalDistribution, topIndices, type SampledToken } from './sampler.ts';

type Transforms = Pick<SamplingParams, 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty'>;

export function forcedPick(logits: Float32Array, params: Transforms, recentTokens: ArrayLike<number>, candidateCount: number, tokenId: number): SampledToken {
  if (!Number.isInteger(tokenId) || tokenId < 0 || tokenId >= logits.length) throw new RangeError(`token ${tokenId} is not in this model's vocabulary of ${logits.length}`);
  const { tokenIds, probabilities } = finalDistribution(logits, params, recentTokens);
  const at = tokenIds.indexOf(tokenId);
  const result: SampledToken = { tokenId, probability: at < 0 ? 0 : probabilities[at]! };
  if (candidateCount > 0) {
    const best = topIndices(probabilities, Math.min(candidateCount, probabilities.length));
    result.candidates = Array.from(best, (i) => ({ tokenId: tokenIds[i]!, probability: probabilities[i]! }));
  }
  return result;
}
