// Builds a conversation in Jielong's export format (electron/storage/export-import.ts), for
// tests that import one: hostile text, or thousands of messages.
import { randomUUID } from 'node:crypto';
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportFile } from '../../electron/storage/export-import.ts';

export interface ExportMessageInput {
  role: 'user' | 'assistant' | 'system';
  content: string;
  status?: 'complete' | 'interrupted' | 'error';
}

/** One conversation whose messages form a single path, in order. */
export function exportFileOf(title: string, messages: readonly ExportMessageInput[], now = Date.now()): string {
  const ids = messages.map(() => randomUUID());
  const file: ExportFile = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: now,
    conversations: [
      {
        id: randomUUID(),
        title,
        createdAt: now - messages.length * 1000,
        updatedAt: now,
        pinned: false,
        deletedAt: null,
        modelId: null,
        systemPrompt: null,
        sampling: null,
        selectedLeafId: ids.at(-1) ?? null,
        messages: messages.map((message, index) => ({
          id: ids[index]!,
          parentId: index === 0 ? null : ids[index - 1]!,
          selectedChildId: ids[index + 1] ?? null,
          role: message.role,
          content: message.content,
          status: message.status ?? 'complete',
          error: null,
          modelId: message.role === 'assistant' ? 'imported-model' : null,
          sampling: null,
          seed: null,
          stats: message.role === 'assistant' ? { promptTokens: 10, decodeTokens: 20, stopReason: 'eos' } : null,
          createdAt: now - (messages.length - index) * 1000,
          updatedAt: now - (messages.length - index) * 1000,
        })),
      },
    ],
  };
  return JSON.stringify(file);
}
