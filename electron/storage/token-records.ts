// Token records in the database: the parts the stream writer commits with the text, merged into
// one row when the answer finishes; read back whole for the token view, the export and a
// continued answer.
import type { TokenRecord } from '../shared/token-record.ts';
import { prepare, type ReadableDB, type WritableDB } from './database.ts';
import { notFound } from './errors.ts';
import { check, idRule } from './schemas.ts';
import { decodeTokenRecord, TokenRecordFormatError } from './token-record-codec.ts';

/** Adds a part after the message's others (by the message's seq). */
export function appendTokenPart(db: WritableDB, messageSeq: number, part: Uint8Array): void {
  prepare(
    db,
    `INSERT INTO token_records (message_seq, part, data)
     VALUES (?, COALESCE((SELECT max(part) + 1 FROM token_records WHERE message_seq = ?), 0), ?)`,
  ).run(messageSeq, messageSeq, part);
}

/** The message's record as stored (its parts joined), or null when it has none. */
export function tokenRecordBytes(db: ReadableDB, messageSeq: number): Uint8Array | null {
  const parts = prepare<[number], { data: Buffer }>(db, 'SELECT data FROM token_records WHERE message_seq = ? ORDER BY part').all(messageSeq);
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0]!.data;
  return Buffer.concat(parts.map((row) => row.data));
}

/** One row instead of a part per batch: read faster and a little smaller. */
export function mergeTokenParts(db: WritableDB, messageSeq: number): void {
  const count = prepare<[number], { n: number }>(db, 'SELECT count(*) AS n FROM token_records WHERE message_seq = ?').get(messageSeq)?.n ?? 0;
  if (count < 2) return;
  const merged = tokenRecordBytes(db, messageSeq) as Uint8Array;
  prepare(db, 'DELETE FROM token_records WHERE message_seq = ?').run(messageSeq);
  prepare(db, 'INSERT INTO token_records (message_seq, part, data) VALUES (?, 0, ?)').run(messageSeq, merged);
}

/**
 * The token record of a message, or null when it has none (a user message, an answer from
 * before records were kept, or one imported without it). A damaged record reads as
 * `unreadable` rather than failing the conversation around it.
 */
export function getTokenRecord(db: ReadableDB, messageId: string): TokenRecord | null {
  const row = prepare<[string], { seq: number }>(db, 'SELECT seq FROM messages WHERE id = ?').get(check(idRule, messageId, 'message id'));
  if (row === undefined) throw notFound('message', messageId);
  const bytes = tokenRecordBytes(db, row.seq);
  if (bytes === null) return null;
  try {
    return { messageId, tokens: decodeTokenRecord(bytes) };
  } catch (error) {
    if (error instanceof TokenRecordFormatError) return { messageId, tokens: [], unreadable: true };
    throw error;
  }
}
