// Full-text search over conversation titles and message text: ranked (bm25), paged, with
// snippets cut from the original text and highlighted where the query matched.
import { prepare, type ReadableDB, type WritableDB } from './database.ts';
import { StorageError } from './errors.ts';
import { LIMITS } from './schemas.ts';
import { TITLE_ROWID_BASE } from './search-index.ts';
import { findTerms, foldWithMap, MAX_QUERY_LENGTH, parseQuery, type HighlightTerm } from './search-tokens.ts';
import type { Role, SearchHit, SearchPage, SearchSnippet } from './types.ts';

/** A title match weighs this many times a body match in bm25. */
const TITLE_WEIGHT = 4;

/**
 * Ranking is exact for queries with up to this many matches. Beyond it, only the first
 * RANK_WINDOW matches in rowid order, newest first, are ranked: those in the most recently
 * created conversations, whose messages sit together (message-seq.ts); titles always take
 * part. A word found in half a million messages would otherwise cost a bm25 evaluation per
 * match on every keystroke (~1 s on the bench's million messages). The matches past the
 * window are not dropped: paging goes on through them after the ranked ones, newest first.
 */
export const RANK_WINDOW = 5_000;

const SNIPPET_CONTEXT_BEFORE = 48;
const SNIPPET_LENGTH = 180;
/** Highlighting looks at most this far into a very long message. */
const SNIPPET_SCAN_LIMIT = 200_000;

export interface SearchOptions {
  /** Hits per page, 1 to 500 (default 20). */
  limit?: number;
  offset?: number;
}

interface HitRow {
  rowid: number;
  score: number;
}

interface MessageHitRow {
  id: string;
  conversation_id: string;
  role: Role;
  content: string;
  created_at: number;
  title: string;
}

interface TitleHitRow {
  id: string;
  title: string;
  created_at: number;
}

export function search(db: ReadableDB, query: string, options: SearchOptions = {}): SearchPage {
  if (typeof query !== 'string') throw new StorageError('INVALID_INPUT', 'Invalid search query: must be a string');
  if (query.length > MAX_QUERY_LENGTH) throw new StorageError('INVALID_INPUT', `Invalid search query: must be at most ${MAX_QUERY_LENGTH} characters`);
  const limit = options.limit ?? 20;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS.pageSize) {
    throw new StorageError('INVALID_INPUT', `Invalid search page size ${String(limit)}: must be a whole number from 1 to ${LIMITS.pageSize}`);
  }
  if (!Number.isInteger(offset) || offset < 0) throw new StorageError('INVALID_INPUT', `Invalid search offset ${String(offset)}: must be a whole number, 0 or more`);

  const parsed = parseQuery(query);
  if (parsed.match === null) return { hits: [], nextOffset: null };

  // Newest first (title rows sort above all messages), cut at the window, then by score.
  const rows: HitRow[] =
    offset < RANK_WINDOW
      ? prepare<[string, number, number, number], HitRow>(
          db,
          `SELECT rowid, score FROM (
             SELECT rowid, bm25(search_index, ${TITLE_WEIGHT}, 1.0, 1.0) AS score FROM search_index
             WHERE search_index MATCH ? ORDER BY rowid DESC LIMIT ?
           ) ORDER BY score, rowid DESC LIMIT ? OFFSET ?`,
        ).all(parsed.match, RANK_WINDOW, limit + 1, offset)
      : [];
  // A page that reaches past the window goes on with the older matches, newest first.
  if (rows.length <= limit) {
    const edge = prepare<[string, number], { rowid: number }>(db, 'SELECT rowid FROM search_index WHERE search_index MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?').get(
      parsed.match,
      RANK_WINDOW - 1,
    );
    if (edge !== undefined) {
      rows.push(
        ...prepare<[string, number, number, number], HitRow>(
          db,
          `SELECT rowid, bm25(search_index, ${TITLE_WEIGHT}, 1.0, 1.0) AS score FROM search_index
           WHERE search_index MATCH ? AND rowid < ? ORDER BY rowid DESC LIMIT ? OFFSET ?`,
        ).all(parsed.match, edge.rowid, limit + 1 - rows.length, Math.max(0, offset - RANK_WINDOW)),
      );
    }
  }

  const hits: SearchHit[] = [];
  for (const row of rows.slice(0, limit)) {
    const hit = row.rowid >= TITLE_ROWID_BASE ? titleHit(db, row, parsed.terms) : messageHit(db, row, parsed.terms);
    if (hit !== null) hits.push(hit);
  }
  return { hits, nextOffset: rows.length > limit ? offset + limit : null };
}

function messageHit(db: ReadableDB, row: HitRow, terms: readonly HighlightTerm[]): SearchHit | null {
  const message = prepare<[number], MessageHitRow>(
    db,
    `SELECT m.id, m.conversation_id, m.role, m.content, m.created_at, c.title
     FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE m.seq = ? AND c.deleted_at IS NULL`,
  ).get(row.rowid);
  if (message === undefined) return null;
  return {
    kind: 'message',
    conversationId: message.conversation_id,
    conversationTitle: message.title,
    messageId: message.id,
    role: message.role,
    createdAt: message.created_at,
    score: row.score,
    snippet: makeSnippet(message.content, terms),
  };
}

function titleHit(db: ReadableDB, row: HitRow, terms: readonly HighlightTerm[]): SearchHit | null {
  const conversation = prepare<[number], TitleHitRow>(db, 'SELECT id, title, created_at FROM conversations WHERE seq = ? AND deleted_at IS NULL').get(
    row.rowid - TITLE_ROWID_BASE,
  );
  if (conversation === undefined) return null;
  return {
    kind: 'title',
    conversationId: conversation.id,
    conversationTitle: conversation.title,
    messageId: null,
    role: null,
    createdAt: conversation.created_at,
    score: row.score,
    snippet: makeSnippet(conversation.title, terms),
  };
}

/**
 * An excerpt of `text` around the first match, with every match in it highlighted. Offsets
 * refer to the original text (folding is only used to find the matches).
 */
export function makeSnippet(text: string, terms: readonly HighlightTerm[]): SearchSnippet {
  const scanned = text.length > SNIPPET_SCAN_LIMIT ? text.slice(0, SNIPPET_SCAN_LIMIT) : text;
  const { folded, map } = foldWithMap(scanned);
  const found = findTerms(folded, terms);
  // Folded ranges back to original offsets: an end maps past the original character it came from.
  const original = found.map(([start, end]): [number, number] => {
    const from = map[start] as number;
    const lastFrom = map[end - 1] as number;
    const width = (scanned.codePointAt(lastFrom) ?? 0) > 0xffff ? 2 : 1;
    return [from, lastFrom + width];
  });

  const first = original[0];
  let start = first === undefined ? 0 : Math.max(0, first[0] - SNIPPET_CONTEXT_BEFORE);
  if (start > 0) {
    // Prefer to start at a word boundary close by.
    const space = text.indexOf(' ', start);
    if (space !== -1 && first !== undefined && space < first[0] && space - start < 16) start = space + 1;
    if (isLowSurrogate(text.charCodeAt(start))) start += 1;
  }
  let end = Math.min(text.length, start + SNIPPET_LENGTH);
  if (end < text.length && isLowSurrogate(text.charCodeAt(end))) end += 1;
  const prefix = start > 0 ? '…' : '';
  const suffix = end < text.length ? '…' : '';
  const body = text.slice(start, end).replace(/\s/gu, ' ');
  const highlights: Array<[number, number]> = [];
  for (const [from, to] of original) {
    if (to <= start || from >= end) continue;
    highlights.push([Math.max(from, start) - start + prefix.length, Math.min(to, end) - start + prefix.length]);
  }
  return { text: prefix + body + suffix, highlights };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Merges FTS5's index segments (run when idle; searches get faster after many writes). */
export function optimizeSearchIndex(db: WritableDB): void {
  db.prepare("INSERT INTO search_index(search_index) VALUES ('optimize')").run();
}
