// Where a message's seq comes from.
/**
 * Messages are clustered by conversation: a message's seq (its rowid, and its row in the search
 * index) is its conversation's seq times 2^24 plus its position in the conversation. A
 * conversation's rows are then neighbours in the table's b-tree, so loading a long conversation
 * reads a few contiguous pages instead of one scattered page per message.
 */
export const MESSAGES_PER_CONVERSATION = 2 ** 24;
/** Conversation seqs stay below this, so message seqs stay below the search index's title rows (2^52). */
export const MAX_CONVERSATION_SEQ = 2 ** 28;

export function messageSeqRange(conversationSeq: number): [number, number] {
  const low = conversationSeq * MESSAGES_PER_CONVERSATION;
  return [low, low + MESSAGES_PER_CONVERSATION];
}
