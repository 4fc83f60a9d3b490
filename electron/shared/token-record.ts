// An answer's token record: for each token the model picked, its id, how probable it was, the
// strongest other candidates and how long the step took. Storage keeps it compactly
// (electron/storage/token-record-codec.ts); this is its plain form, for the main side's
// writer and for the renderer's token view. Pure: no node: imports.

/** One candidate at one position: its probability after the sampler, and under the model alone. */
export interface RecordedCandidate {
  tokenId: number;
  /** The token's own text (decoded alone); '' when it is part of a character. */
  text: string;
  /** After the sampler's transforms (penalty, temperature, top-k, top-p, min-p), renormalised. */
  probability: number;
  /** Softmax of the raw logits; null where the source did not say (a remote server). */
  modelProbability: number | null;
}

/** What the chat service hands the stream writer with each token's text. */
export interface RecordedToken {
  tokenId: number;
  /** The chosen token's probability after the sampler. */
  probability: number;
  /** The chosen token's softmax probability from the raw logits; null: unknown. */
  modelProbability: number | null;
  /** Entropy of the model's whole distribution at this position, in bits; null: unknown. */
  entropyBits: number | null;
  /** Milliseconds from the previous token (or the end of prefill) to this one; null: unknown. */
  decodeMs: number | null;
  /** Best first; may be empty. */
  candidates: readonly RecordedCandidate[];
}

/** A recorded token as read back: with the length of text it added to the message. */
export interface StoredToken extends RecordedToken {
  /** UTF-16 units of the message's text this token added ('' tokens: 0). */
  textLength: number;
}

/** An answer's record as read back: tokens in order (their text lengths sum to the text they wrote). */
export interface TokenRecord {
  messageId: string;
  tokens: StoredToken[];
  /** The stored bytes could not be read (a damaged row): `tokens` is empty. */
  unreadable?: true;
}

/**
 * Probabilities are stored as whole steps of 1/PROBABILITY_STEPS (16 bits each): the absolute
 * error is at most half a step, 1/131068 ≈ 7.6e-6, far below the 0.1 % a view shows.
 */
export const PROBABILITY_STEPS = 65_534;
/** The largest absolute error of a stored probability. */
export const PROBABILITY_PRECISION = 0.5 / PROBABILITY_STEPS;
/** Entropy is stored in steps of 1/ENTROPY_STEPS_PER_BIT bit (16 bits: up to 32 bits of entropy). */
export const ENTROPY_STEPS_PER_BIT = 2048;

