// Small rules about conversations that the state and the tests share.
import type { Conversation } from '@shared/chat-types.ts';

/** Pinned first, then the most recently updated (the order storage lists them in). */
export function compareConversations(a: Conversation, b: Conversation): number {
  if (a.pinned !== b.pinned) return a.pinned ? -1 : 1;
  return b.updatedAt - a.updatedAt;
}

/** A conversation's title from the first message: its first line, cut at a word if long. */
export function titleFrom(content: string): string {
  const line = content.trim().split(/\r?\n/, 1)[0]?.trim() ?? '';
  if (line.length <= 60) return line || content.trim().slice(0, 60);
  const cut = line.slice(0, 60);
  const space = cut.lastIndexOf(' ');
  return `${space > 30 ? cut.slice(0, space) : cut}…`;
}
