// The sampler as a list of named stages, in the shape of transformers.js' LogitsProcessorList:
// repetition penalty -> temperature -> top-k -> top-p -> min-p, each taking the distribution
// the one before left. It is the definition the sampler view shows, stage by stage: how many
// tokens each stage removed, the probability mass they held, the best tokens after it.
// sampler.ts draws from the same final distribution by a faster route (no full sort); the
// tests hold the two to each other (sampler-stages.test.ts).
import type { SamplingParams } from '../shared/model-host-protocol.ts';
import { REPETITION_WINDOW, type TokenDistribution } from './sampler.ts';

type Transforms = Pick<SamplingParams, 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty'>;

export type StageName = 'penalty' | 'temperature' | 'top-k' | 'top-p' | 'min-p';

/** The tokens still in play and their logits (as the stages have changed them). */
interface Working {
  ids: Int32Array;
  logits: Float64Array;
}

export interface LogitsStage {
  name: StageName;
  /** False when the settings turn it off (it passes the distribution on unchanged). */
  active: boolean;
  apply(working: Working): Working;
}

export interface StageSummary {
  name: StageName;
  active: boolean;
  /** Tokens still in play after this stage, and how many it removed. */
  kept: number;
  removed: number;
  /** Probability mass (under the distribution this stage was given) of the tokens it kept. */
  massLeft: number;
  /** The best tokens after this stage, best first, with their renormalised probabilities. */
  top: Array<{ tokenId: number; probability: number }>;
}

/** Softmax over the working logits (relative to their max). */
function probabilities(working: Working): Float64Array {
  let max = -Infinity;
  for (const logit of working.logits) if (logit > max) max = logit;
  const out = new Float64Array(working.logits.length);
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i] = Math.exp(working.logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Positions of the working set, most probable first (ties: lower id first, as sampler.ts sorts). */
function byProbability(working: Working): number[] {
  return Array.from(working.ids, (_, i) => i).sort((a, b) => working.logits[b]! - working.logits[a]! || working.ids[a]! - working.ids[b]!);
}

function keep(working: Working, positions: number[]): Working {
  const sorted = [...positions].sort((a, b) => a - b);
  return { ids: Int32Array.from(sorted, (i) => working.ids[i]!), logits: Float64Array.from(sorted, (i) => working.logits[i]!) };
}

/** The stages for these settings, in the order they run. */
export function samplerStages(params: Transforms, recentTokens: ArrayLike<number> = []): LogitsStage[] {
  const temperature = params.temperature > 0 ? params.temperature : 1;
  return [
    {
      name: 'penalty',
      active: params.repetitionPenalty !== 1 && recentTokens.length > 0,
      apply(working) {
        const seen = new Set<number>();
        for (let i = Math.max(0, recentTokens.length - REPETITION_WINDOW); i < recentTokens.length; i++) seen.add(recentTokens[i]!);
        const logits = Float64Array.from(working.logits, (logit, i) => {
          if (!seen.has(working.ids[i]!)) return logit;
          // Hugging Face's rule, on the float32 logits as sampler.ts computes it.
          return Math.fround(logit > 0 ? logit / params.repetitionPenalty : logit * params.repetitionPenalty);
        });
        return { ids: working.ids, logits };
      },
    },
    {
      name: 'temperature',
      active: temperature !== 1,
      apply: (working) => ({ ids: working.ids, logits: working.logits.map((logit) => logit / temperature) }),
    },
    {
      name: 'top-k',
      active: params.topK > 0,
      apply: (working) => (params.topK >= working.ids.length ? working : keep(working, byProbability(working).slice(0, params.topK))),
    },
    {
      name: 'top-p',
      active: params.topP < 1,
      apply(working) {
        const p = probabilities(working);
        const order = byProbability(working);
        let cumulative = 0;
        let count = order.length;
        for (let i = 0; i < order.length; i++) {
          cumulative += p[order[i]!]!;
          if (cumulative >= params.topP) {
            count = i + 1;
            break;
          }
        }
        return keep(working, order.slice(0, count));
      },
    },
    {
      name: 'min-p',
      active: params.minP > 0,
      apply(working) {
        const p = probabilities(working);
        const threshold = params.minP * Math.max(...p);
        return keep(
          working,
          Array.from(p.keys()).filter((i) => p[i]! >= threshold),
        );
      },
    },
  ];
}

/** Runs the stages over `logits`; returns the final distribution and what each stage did. */
export function runStages(logits: Float32Array, stages: readonly LogitsStage[], topCount = 5): { final: TokenDistribution; summaries: StageSummary[] } {
  let working: Working = { ids: Int32Array.from(logits, (_, i) => i), logits: Float64Array.from(logits) };
  const summaries: StageSummary[] = [];
  for (const stage of stages) {
    const before = working;
    if (stage.active) working = stage.apply(working);
    const pBefore = probabilities(before);
    const keptIds = new Set(working.ids);
    let massLeft = 0;
    for (let i = 0; i < before.ids.length; i++) if (keptIds.has(before.ids[i]!)) massLeft += pBefore[i]!;
    const p = probabilities(working);
    summaries.push({
      name: stage.name,
      active: stage.active,
      kept: working.ids.length,
      removed: before.ids.length - working.ids.length,
      massLeft,
      top: byProbability(working)
        .slice(0, topCount)
        .map((i) => ({ tokenId: working.ids[i]!, probability: p[i]! })),
    });
  }
  return { final: { tokenIds: working.ids, probabilities: probabilities(working) }, summaries };
}
