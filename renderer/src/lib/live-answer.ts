// An answer while it is being written, fed by the token events. Deliberately not reactive
// state: a token only appends to arrays and asks for one notification on the next frame;
// the views that show the answer read what is new since they last drew (the text, the
// tokens from an index). So a burst of a hundred tokens costs one render, and the work per
// token does not grow with the answer.
import type { EventPayload } from '@shared/contract.ts';
import type { GenerationStats, TokenCandidate } from '@shared/model-host-protocol.ts';

export interface TokenRecord {
  text: string;
  tokenId: number;
  /** After the sampler's transforms. */
  probability: number;
  candidates: TokenCandidate[] | undefined;
  /** Softmax of the raw logits, and the entropy (bits) of that distribution; undefined: not known. */
  modelProbability?: number | undefined;
  entropyBits?: number | undefined;
  /** How long the token took, ms. */
  decodeMs?: number | undefined;
}

export type LiveStatus = 'streaming' | 'complete' | 'interrupted' | 'error';

export interface Prefill {
  promptTokens: number;
  cachedTokens: number;
  droppedMessages: number;
}

type Schedule = (callback: () => void) => void;

/** One callback per animation frame (with a timer fallback for hidden pages). */
export const nextFrame: Schedule = (callback) => {
  let done = false;
  const run = (): void => {
    if (done) return;
    done = true;
    callback();
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(run);
  setTimeout(run, 100);
};

export class LiveAnswer {
  text = '';
  readonly tokens: TokenRecord[] = [];
  prefill: Prefill | null = null;
  status: LiveStatus = 'streaming';
  stats: GenerationStats | null = null;
  error: { code: string; message: string } | null = null;
  readonly startedAt = performance.now();
  firstTokenAt: number | null = null;
  /** Where this answer branched from another's tokens (its first token of its own), if it did. */
  forkAt: number | null = null;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;

  constructor(
    readonly conversationId: string,
    readonly messageId: string,
    private readonly schedule: Schedule = nextFrame,
    /** Text already stored when this page started following the answer (a reload mid-answer). */
    initialText = '',
  ) {
    this.text = initialText;
  }

  /** `listener` runs at most once per frame while anything changes. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onPrefill(event: EventPayload<'generation.prefill'>): void {
    this.prefill = { promptTokens: event.promptTokens, cachedTokens: event.cachedTokens, droppedMessages: event.droppedMessages };
    this.changed();
  }

  onToken(event: EventPayload<'generation.token'>): void {
    this.firstTokenAt ??= performance.now();
    this.text += event.text;
    this.tokens.push({
      text: event.text,
      tokenId: event.tokenId,
      probability: event.probability,
      candidates: event.candidates,
      modelProbability: event.modelProbability,
      entropyBits: event.entropyBits,
      decodeMs: event.decodeMs,
    });
    this.changed();
  }

  onDone(event: EventPayload<'generation.done'>): void {
    this.status = event.status;
    this.stats = event.stats;
    this.changed();
  }

  onError(event: EventPayload<'generation.error'>): void {
    this.status = event.status;
    this.error = { code: event.code, message: event.message };
    this.changed();
  }

  get finished(): boolean {
    return this.status !== 'streaming';
  }

  /** Runs the listeners now (used by tests and when a view mounts). */
  flush(): void {
    this.scheduled = false;
    for (const listener of [...this.listeners]) listener();
  }

  private changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }
}

/** The answers this page has followed, newest kept; token details are memory only. */
export class LiveAnswers {
  private readonly answers = new Map<string, LiveAnswer>();
  constructor(
    private readonly limit = 30,
    private readonly schedule: Schedule = nextFrame,
  ) {}

  get(messageId: string): LiveAnswer | undefined {
    return this.answers.get(messageId);
  }

  /** Follows `answer` from now on, in place of any other of its message (a continued answer, its earlier tokens read from storage). */
  replace(answer: LiveAnswer): void {
    this.answers.delete(answer.messageId);
    this.answers.set(answer.messageId, answer);
  }

  getOrCreate(conversationId: string, messageId: string, initialText = ''): LiveAnswer {
    let answer = this.answers.get(messageId);
    if (!answer) {
      answer = new LiveAnswer(conversationId, messageId, this.schedule, initialText);
      this.answers.set(messageId, answer);
      while (this.answers.size > this.limit) {
        const oldest = this.answers.keys().next().value as string;
        this.answers.delete(oldest);
      }
    }
    return answer;
  }
}
