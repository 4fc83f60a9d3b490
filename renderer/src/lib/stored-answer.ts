// An answer's token record as read from the database, in the shape the token view draws: the
// same LiveAnswer it follows while an answer streams, filled at once. Each token's text is the
// slice of the stored message it wrote, so the view after a reload shows exactly what it
// showed live. Records are kept for the last few answers opened (a token view toggled back on
// does not ask again).
import type { PathMessage } from '@shared/chat-types.ts';
import type { TokenRecord as StoredRecord } from '@shared/token-record.ts';
import { LiveAnswer, type TokenRecord } from './live-answer.ts';

export type StoredAnswer = { kind: 'record'; answer: LiveAnswer } | { kind: 'none' } | { kind: 'unreadable' };

/** Builds the answer a token view draws from a stored record and its message. */
export function answerFromRecord(
  message: Pick<PathMessage, 'id' | 'conversationId' | 'content' | 'status' | 'stats'>,
  record: StoredRecord | null,
  /** How the answer asks its views to draw: never, unless it is continued (then once per frame). */
  schedule: (callback: () => void) => void = () => undefined,
): StoredAnswer {
  if (record === null) return { kind: 'none' };
  if (record.unreadable) return { kind: 'unreadable' };
  const answer = new LiveAnswer(message.conversationId, message.id, schedule);
  const forkedAt = message.stats?.['forkedAt'];
  if (typeof forkedAt === 'number') answer.forkAt = forkedAt;
  let at = 0;
  for (const token of record.tokens) {
    const text = message.content.slice(at, at + token.textLength);
    at += token.textLength;
    const stored: TokenRecord = {
      text,
      tokenId: token.tokenId,
      probability: token.probability,
      candidates: token.candidates.map((c) => ({ tokenId: c.tokenId, text: c.text, probability: c.probability, ...(c.modelProbability === null ? {} : { modelProbability: c.modelProbability }) })),
      modelProbability: token.modelProbability ?? undefined,
      entropyBits: token.entropyBits ?? undefined,
      decodeMs: token.decodeMs ?? undefined,
    };
    answer.tokens.push(stored);
  }
  answer.text = message.content.slice(0, at);
  answer.status = message.status;
  return { kind: 'record', answer };
}

const KEPT = 30;
const cache = new Map<string, Promise<StoredAnswer>>();

/** The stored answer of `message`, loaded once (while it is among the last 30 opened; a failed load is asked again). */
export function storedAnswer(message: PathMessage, load: (messageId: string) => Promise<StoredRecord | null>): Promise<StoredAnswer> {
  // A message's content only changes while it streams (or is continued): the key names its length.
  const key = `${message.id}:${message.content.length}:${message.status}`;
  let entry = cache.get(key);
  if (entry === undefined) {
    entry = load(message.id).then((record) => answerFromRecord(message, record));
    entry.catch(() => cache.delete(key));
    cache.set(key, entry);
    while (cache.size > KEPT) cache.delete(cache.keys().next().value as string);
  }
  return entry;
}
