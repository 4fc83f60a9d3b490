// The per-answer timeline: prefill, then each token's decode time, folded into at most `bars`
// bars (each the mean of the tokens it covers) so a long answer draws as fast as a short one.

export interface TimelineBar {
  /** First and last token (0-based) the bar covers. */
  from: number;
  to: number;
  /** Mean decode time of those tokens, ms. */
  ms: number;
}

export interface Timeline {
  bars: TimelineBar[];
  /** The slowest bar, ms (the chart's scale). */
  maxMs: number;
  /** Sum of the tokens' decode times, ms. */
  decodeMs: number;
  /** Tokens with a known time. */
  timed: number;
}

export function timelineOf(decodeMs: ReadonlyArray<number | undefined>, bars = 240): Timeline | null {
  const timed = decodeMs.filter((ms): ms is number => ms !== undefined);
  if (timed.length === 0) return null;
  const per = Math.max(1, Math.ceil(decodeMs.length / bars));
  const out: TimelineBar[] = [];
  let maxMs = 0;
  let total = 0;
  for (let from = 0; from < decodeMs.length; from += per) {
    const to = Math.min(decodeMs.length, from + per) - 1;
    let sum = 0;
    let count = 0;
    for (let i = from; i <= to; i++) {
      const ms = decodeMs[i];
      if (ms === undefined) continue;
      sum += ms;
      count++;
    }
    total += sum;
    const ms = count === 0 ? 0 : sum / count;
    maxMs = Math.max(maxMs, ms);
    out.push({ from, to, ms });
  }
  return { bars: out, maxMs, decodeMs: total, timed: timed.length };
}
