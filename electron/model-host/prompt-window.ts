// Keeps a conversation inside the model's context: the prompt plus room for the answer must
// fit. When it does not, the oldest turns go first (system messages and the last message
// stay); if even the last message cannot fit, the request fails with context_full.
import { ModelHostError } from '../shared/model-host-error.ts';
import type { ChatMessage } from '../shared/model-host-protocol.ts';

export interface FittedPrompt {
  tokenIds: number[];
  droppedMessages: number;
}

export function fitPrompt(
  messages: readonly ChatMessage[],
  maxNewTokens: number,
  contextLength: number,
  encodeChat: (messages: ChatMessage[]) => number[],
): FittedPrompt {
  const system = messages.filter((m, i) => m.role === 'system' && i < messages.length - 1);
  const turns = messages.filter((m, i) => m.role !== 'system' || i === messages.length - 1);
  /** The messages kept after dropping the `drop` oldest turns, never starting on an assistant turn. */
  const keep = (drop: number): { kept: ChatMessage[]; dropped: number } => {
    let start = drop;
    while (start < turns.length - 1 && turns[start]!.role === 'assistant') start++;
    return { kept: [...system, ...turns.slice(start)], dropped: start };
  };
  const fits = (ids: number[]): boolean => ids.length + maxNewTokens <= contextLength;

  const all = encodeChat([...messages]);
  if (fits(all)) return { tokenIds: all, droppedMessages: 0 };

  // Fewer tokens the more turns are dropped: search for the fewest drops that fit.
  const maxDrop = turns.length - 1;
  let lo = 1;
  let hi = maxDrop;
  let best: FittedPrompt | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const { kept, dropped } = keep(mid);
    const ids = encodeChat(kept);
    if (fits(ids)) {
      best = { tokenIds: ids, droppedMessages: dropped };
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  if (best) return best;

  // Not even the last message leaves room for the whole answer: answer as much as fits.
  const { kept, dropped } = keep(maxDrop);
  const ids = encodeChat(kept);
  if (ids.length < contextLength) return { tokenIds: ids, droppedMessages: dropped };
  throw new ModelHostError(
    'context_full',
    `The message is too long for this model: the prompt needs ${ids.length} tokens and the model's context holds ${contextLength}. Shorten the message or the system prompt.`,
  );
}
