// Synthetic token records for the storage tests and bench:storage.
import type { RecordedToken } from '../../shared/token-record.ts';

/**
 * A token as a model host reports one: ids past 65535 (Qwen-sized vocabularies) drawn
 * log-uniformly (common tokens are candidates far more often), probabilities with many
 * digits, the pick nearly always one of the candidates.
 */
export function randomToken(rand: () => number, count: number): RecordedToken {
  const probabilities = Array.from({ length: count }, () => rand()).sort((a, b) => b - a);
  const candidates = probabilities.map((probability, i) => {
    const tokenId = Math.floor(151_936 ** rand()) - 1;
    // Four bytes, as BPE tokens of English or Chinese text mostly are; one in a thousand a long run of spaces.
    const text = tokenId % 1000 === 0 ? ' '.repeat(300) : ` w${(tokenId % 89).toString().padStart(2, '0')}`;
    return { tokenId, text, probability, modelProbability: i === 2 ? null : rand() };
  });
  const pick = candidates[Math.floor(rand() * count)];
  if (pick === undefined || rand() < 0.1) {
    return { tokenId: Math.floor(rand() * 151_936), probability: rand(), modelProbability: rand(), entropyBits: rand() * 12, decodeMs: rand() * 80, candidates };
  }
  return { tokenId: pick.tokenId, probability: pick.probability, modelProbability: pick.modelProbability, entropyBits: rand() * 12, decodeMs: rand() * 80, candidates };
}
