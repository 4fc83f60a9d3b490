// Stop strings over streamed text: text that may be the start of a stop string is held back
// until the next token says whether it is, so a client never receives part of a stop string
// in one chunk and the rest never. Each token's item (its logprobs) is released with the
// text it ends in; tokens past the stop string are dropped.
export interface Released<T> {
  text: string;
  items: T[];
}

export class StopFilter<T> {
  private held = '';
  private readonly pending: Array<{ start: number; end: number; item: T }> = [];
  private released = 0;
  private total = 0;
  private hit = false;

  constructor(private readonly stops: readonly string[]) {}

  /** A stop string was found: the answer ends here. */
  get stopped(): boolean {
    return this.hit;
  }

  push(text: string, item: T): Released<T> {
    if (this.hit) return { text: '', items: [] };
    this.pending.push({ start: this.total, end: this.total + text.length, item });
    this.total += text.length;
    this.held += text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = this.held.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    let out: string;
    if (cut >= 0) {
      out = this.held.slice(0, cut);
      this.held = '';
      this.hit = true;
    } else {
      const keep = this.possibleStart();
      out = this.held.slice(0, this.held.length - keep);
      this.held = this.held.slice(this.held.length - keep);
    }
    this.released += out.length;
    return { text: out, items: this.take() };
  }

  /** The end of the answer: what was held back was not a stop string after all. */
  flush(): Released<T> {
    if (this.hit) return { text: '', items: [] };
    const out = this.held;
    this.held = '';
    this.released += out.length;
    return { text: out, items: this.pending.splice(0).map((p) => p.item) };
  }

  /** Length of the longest end of the held text that begins some stop string. */
  private possibleStart(): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, this.held.length); n > longest; n--) {
        if (this.held.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }

  private take(): T[] {
    const items: T[] = [];
    // Complete tokens are released with their text; at a stop, those that began before it too.
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      const out = this.hit ? next.start < this.released || next.end <= this.released : next.end <= this.released;
      if (!out) break;
      items.push(next.item);
      this.pending.shift();
    }
    if (this.hit) this.pending.length = 0;
    return items;
  }
}
