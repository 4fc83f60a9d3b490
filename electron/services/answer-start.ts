// Answers that start from another answer's tokens: branching from a token (a new sibling that
// keeps the tokens before it, takes the chosen candidate there and goes on) and Continue (the
// same answer goes on after its last token). Both need the answer's token record: its ids are
// what the model is fed again, exactly, with the KV cache reused up to them.
import type { EventPayload } from '../shared/contract.ts';
import type { Message } from '../shared/chat-types.ts';
import type { StoredToken } from '../shared/token-record.ts';
import { StorageError, type Storage, type StreamWriter } from '../storage/index.ts';

export interface AnswerStart {
  /** Continue this answer (its id) instead of beginning a new one. */
  resume?: string;
  /** Tokens the new answer keeps from the old one, and the old answer's text they wrote. */
  kept?: { tokens: StoredToken[]; content: string };
  /** Token ids after the prompt the model is fed before generating. */
  answerPrefix?: number[];
  forceFirstToken?: number;
  /** Stored with the answer's stats: where it forked or was continued. */
  stats?: Record<string, number | string>;
}

export interface PlannedStart {
  conversationId: string;
  /** The answer whose tokens the new one starts from. */
  from: Message;
  question: Message;
  start: AnswerStart;
}

/** Remote models' ids (remote-models.ts): their "token ids" are positions in a server's list, not a vocabulary's. */
export function isRemoteModel(modelId: string | null): boolean {
  return modelId?.startsWith('remote-') ?? false;
}

/**
 * Token ids mean something only to the model that chose them: going on from an answer's tokens
 * needs that model loaded, and a local one.
 */
export function checkSameModel(answer: Message, loadedModelId: string): void {
  if (isRemoteModel(loadedModelId) || isRemoteModel(answer.modelId)) throw new StorageError('INVALID_INPUT', 'Going on from an answer’s tokens needs a model on this computer; a remote server does not take token ids.');
  if (answer.modelId !== null && answer.modelId !== loadedModelId) {
    throw new StorageError('INVALID_INPUT', `This answer was written by the model ${JSON.stringify(answer.modelId)}: load it to go on from its tokens.`);
  }
}

function recordOf(storage: Storage, answer: Message): StoredToken[] {
  const record = storage.getTokenRecord(answer.id);
  if (record === null || record.unreadable) throw new StorageError('INVALID_INPUT', 'This answer has no token record, so Jielong cannot go on from its tokens.');
  return record.tokens;
}

function finishedAnswer(storage: Storage, messageId: string, what: string): Message & { parentId: string } {
  const answer = storage.getMessage(messageId);
  if (answer.role !== 'assistant' || answer.parentId === null || answer.status === 'streaming') throw new StorageError('INVALID_INPUT', `Only a finished answer can be ${what}.`);
  return answer as Message & { parentId: string };
}

/** A new sibling of `messageId` keeping its tokens before `index`, with `tokenId` (one of the candidates there) at `index`. */
export function planBranch(storage: Storage, input: { messageId: string; index: number; tokenId: number }): PlannedStart {
  const old = finishedAnswer(storage, input.messageId, 'branched from');
  const tokens = recordOf(storage, old);
  const at = tokens[input.index];
  if (at === undefined || !at.candidates.some((candidate) => candidate.tokenId === input.tokenId)) {
    throw new StorageError('INVALID_INPUT', `Token ${input.tokenId} is not one of the candidates at position ${input.index + 1} of this answer.`);
  }
  const kept = tokens.slice(0, input.index);
  return {
    conversationId: old.conversationId,
    from: old,
    question: storage.getMessage(old.parentId),
    start: {
      kept: { tokens: kept, content: old.content },
      answerPrefix: kept.map((token) => token.tokenId),
      forceFirstToken: input.tokenId,
      stats: { forkedAt: input.index, forkedFrom: old.id },
    },
  };
}

/** The same answer, going on after its last token: one stopped by max tokens, by the user, or cut by a crash. */
export function planContinue(storage: Storage, input: { messageId: string }): PlannedStart {
  const old = finishedAnswer(storage, input.messageId, 'continued');
  if (old.status === 'error') throw new StorageError('INVALID_INPUT', 'An answer that failed cannot be continued; regenerate it.');
  const tokens = recordOf(storage, old);
  return {
    conversationId: old.conversationId,
    from: old,
    question: storage.getMessage(old.parentId),
    start: { resume: old.id, answerPrefix: tokens.map((token) => token.tokenId), stats: { continuedAt: tokens.length } },
  };
}

/** What the sampler view replays: the answer's tokens before `index`, then its token at `index`, with the sampling it was made with. */
export function planStageView(storage: Storage, input: { messageId: string; index: number }): { answer: Message; answerPrefix: number[]; tokenId: number } {
  const answer = finishedAnswer(storage, input.messageId, 'inspected');
  const tokens = recordOf(storage, answer);
  const at = tokens[input.index];
  if (at === undefined) throw new StorageError('INVALID_INPUT', `This answer has no token at position ${input.index + 1}.`);
  return { answer, answerPrefix: tokens.slice(0, input.index).map((token) => token.tokenId), tokenId: at.tokenId };
}

/**
 * Writes the kept tokens into the new answer (text and record) and returns the token events
 * that show them, in order, as if they had just been generated.
 */
export function copyKeptTokens(writer: StreamWriter, start: AnswerStart, conversationId: string): Array<EventPayload<'generation.token'>> {
  if (start.kept === undefined) return [];
  const events: Array<EventPayload<'generation.token'>> = [];
  let at = 0;
  for (const token of start.kept.tokens) {
    const text = start.kept.content.slice(at, at + token.textLength);
    at += token.textLength;
    writer.append(text, token);
    events.push({
      conversationId,
      messageId: writer.messageId,
      text,
      tokenId: token.tokenId,
      probability: token.probability,
      candidates: token.candidates.map((c) => ({ tokenId: c.tokenId, text: c.text, probability: c.probability, ...(c.modelProbability === null ? {} : { modelProbability: c.modelProbability }) })),
      ...(token.modelProbability === null ? {} : { modelProbability: token.modelProbability }),
      ...(token.entropyBits === null ? {} : { entropyBits: token.entropyBits }),
      ...(token.decodeMs === null ? {} : { decodeMs: token.decodeMs }),
    });
  }
  return events;
}
