// The last answer this host produced, as text and as the token ids it chose. Re-tokenizing an
// answer's text rarely gives back the ids the model picked (BPE merges differently across
// what were separate decode steps), so a next prompt that contains the answer would share a
// prefix with the KV cache only up to the answer's first token and recompute the rest. When
// the next rendered prompt starts with exactly this text, its ids start with these ids: the
// model reads its own answer as it wrote it, and the cache covers it all.

export interface ProducedTurn {
  /** The rendered prompt followed by the answer, special tokens written out. */
  readonly text: string;
  /** The prompt's ids followed by every id the answer chose (the last one included). */
  readonly ids: readonly number[];
}

/** Answers kept: enough for a regenerate or an edit a few turns back to find its history. */
const KEPT_TURNS = 8;

export class ProducedTurns {
  private turns: ProducedTurn[] = [];

  add(turn: ProducedTurn): void {
    this.turns = [turn, ...this.turns.filter((t) => t.text !== turn.text)].slice(0, KEPT_TURNS);
  }

  clear(): void {
    this.turns = [];
  }

  /**
   * Ids for a rendered prompt: the ids of the longest produced turn it continues, then the
   * rest encoded; plain encoding when it continues none (another chat, an edited answer).
   * A regenerate continues the turn before the answer it replaces, so it reads the same ids
   * as the first attempt did.
   */
  encode(rendered: string, encode: (text: string) => number[]): number[] {
    let best: ProducedTurn | null = null;
    for (const turn of this.turns) {
      if (rendered.length > turn.text.length && rendered.startsWith(turn.text) && turn.text.length > (best?.text.length ?? -1)) best = turn;
    }
    return best ? [...best.ids, ...encode(rendered.slice(best.text.length))] : encode(rendered);
  }
}
