// How text becomes FTS5 tokens, and how a query becomes an FTS5 MATCH expression.
//
// FTS5's unicode61 tokenizer keeps a run of CJK characters as one token ("我们的模型很好" is a
// single token), so a two-character query such as 模型 would never match. The trigram
// tokenizer needs three characters. So before text reaches the index, every run of CJK
// characters is rewritten as its overlapping bigrams followed by its last character:
//
//   "大模型GPT" -> " 大模 模型 型 GPT"
//
// A query is rewritten the same way into a phrase of bigrams, which matches exactly where the
// query is a substring of a run. The trailing single character lets a one-character query
// inside a longer word ("GPT型*") and a CJK run followed by Latin text (型GPT -> "型 gpt")
// match too. A query that is a lone CJK character searches the `chars` column instead (see
// charsForIndex). The index stores only the tokens (a contentless table); snippets are cut
// from the original text in JS.

const CJK_CLASS = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\\p{Script=Bopomofo}\\u30FC\\u3005\\u3006';
const CJK_RUN = new RegExp(`[${CJK_CLASS}]+`, 'gu');
const CJK_CHAR = new RegExp(`^[${CJK_CLASS}]$`, 'u');
/** A CJK run, or a run of what unicode61 treats as token characters (letters, numbers, private use). */
const QUERY_PIECE = new RegExp(`[${CJK_CLASS}]+|(?:(?![${CJK_CLASS}])[\\p{L}\\p{N}\\p{Co}])+`, 'gu');
const WORD_CHAR = /[\p{L}\p{N}\p{Co}]/u;

export const MAX_QUERY_LENGTH = 1_000;

export function isCjk(char: string): boolean {
  return CJK_CHAR.test(char);
}

function runTokens(run: string): string[] {
  const chars = Array.from(run);
  if (chars.length === 1) return chars;
  const tokens: string[] = [];
  for (let i = 0; i + 1 < chars.length; i += 1) tokens.push(`${chars[i]}${chars[i + 1]}`);
  tokens.push(chars[chars.length - 1] as string);
  return tokens;
}

/** The text the FTS index sees for `text`: CJK runs rewritten as bigrams plus their last character. */
export function segmentForIndex(text: string): string {
  return text.replace(CJK_RUN, (run) => ` ${runTokens(run).join(' ')} `);
}

/**
 * The `chars` column: each distinct CJK character of `text`, once. A query of one CJK
 * character matches it exactly instead of expanding the prefix 数* over every bigram that
 * starts with 数 (hundreds of terms on a large database).
 */
export function charsForIndex(text: string): string {
  const chars = new Set<string>();
  for (const run of text.match(CJK_RUN) ?? []) for (const char of run) chars.add(char);
  return [...chars].join(' ');
}

/** A term to highlight in the original text, already case- and accent-folded. */
export interface HighlightTerm {
  text: string;
  /** `word`: matches at word starts; `cjk`: matches anywhere. */
  kind: 'word' | 'cjk';
  /** The last query word matches as a prefix; its highlight runs to the end of the word. */
  prefix: boolean;
}

export interface ParsedQuery {
  /** The FTS5 MATCH expression, or null when the query has nothing to search for. */
  match: string | null;
  terms: HighlightTerm[];
}

/**
 * Turns what the user typed into an FTS5 expression. Every word becomes a quoted phrase (so
 * FTS5 syntax characters in the query are plain text); words are ANDed. The last word matches
 * as a prefix when it is at least 3 characters long (or a single CJK character) and the query
 * does not end with a space.
 */
export function parseQuery(query: string): ParsedQuery {
  const words = query.split(/\s+/u).filter((word) => word.length > 0);
  const endsOpen = !/\s$/u.test(query);
  const phrases: string[] = [];
  const terms: HighlightTerm[] = [];
  words.forEach((word, wordIndex) => {
    const pieces = [...word.matchAll(QUERY_PIECE)].map((match) => match[0]);
    if (pieces.length === 0) return;
    const tokens: string[] = [];
    pieces.forEach((piece, pieceIndex) => {
      const cjk = isCjk(Array.from(piece)[0] as string);
      if (cjk) {
        const runs = runTokens(piece);
        const followed = pieceIndex < pieces.length - 1;
        // The trailing single character exists in the index only where the run ends, which
        // the query knows only when another token follows it.
        tokens.push(...(runs.length > 1 && !followed ? runs.slice(0, -1) : runs));
        terms.push({ text: fold(piece), kind: 'cjk', prefix: false });
      } else {
        tokens.push(piece);
        terms.push({ text: fold(piece), kind: 'word', prefix: false });
      }
    });
    const last = pieces[pieces.length - 1] as string;
    const lastChars = Array.from(last);
    const lastIsCjk = isCjk(lastChars[0] as string);
    if (pieces.length === 1 && lastIsCjk && lastChars.length === 1) {
      // A lone CJK character: the chars column has every one, as a token of its own.
      phrases.push(`chars : "${last}"`);
      return;
    }
    const isLastWord = wordIndex === words.length - 1;
    const prefix = lastIsCjk ? lastChars.length === 1 : isLastWord && endsOpen && lastChars.length >= 3;
    if (prefix && !lastIsCjk) (terms[terms.length - 1] as HighlightTerm).prefix = true;
    phrases.push(`"${tokens.join(' ')}"${prefix ? '*' : ''}`);
  });
  return { match: phrases.length > 0 ? phrases.join(' ') : null, terms };
}

const foldCache = new Map<string, string>();

/** Lower case without diacritics, close to what unicode61 remove_diacritics 2 compares. */
export function fold(text: string): string {
  return foldWithMap(text).folded;
}

function foldChar(char: string): string {
  let folded = foldCache.get(char);
  if (folded === undefined) {
    folded = char.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
    if (foldCache.size < 10_000) foldCache.set(char, folded);
  }
  return folded;
}

/** Folds `text`, recording for each folded UTF-16 unit the offset of the original character it came from. */
export function foldWithMap(text: string): { folded: string; map: number[] } {
  const parts: string[] = [];
  const map: number[] = [];
  for (let i = 0; i < text.length; ) {
    const code = text.charCodeAt(i);
    if (code < 0x80) {
      parts.push(code >= 65 && code <= 90 ? String.fromCharCode(code + 32) : (text[i] as string));
      map.push(i);
      i += 1;
      continue;
    }
    const char = String.fromCodePoint(text.codePointAt(i) as number);
    const folded = foldChar(char);
    parts.push(folded);
    for (let k = 0; k < folded.length; k += 1) map.push(i);
    i += char.length;
  }
  return { folded: parts.join(''), map };
}

function isWordCharAt(text: string, index: number): boolean {
  if (index < 0 || index >= text.length) return false;
  const char = String.fromCodePoint(text.codePointAt(index) as number);
  return WORD_CHAR.test(char) && !isCjk(char);
}

function isWordCharBefore(text: string, index: number): boolean {
  if (index <= 0) return false;
  const low = text.charCodeAt(index - 1);
  const start = low >= 0xdc00 && low <= 0xdfff && index >= 2 ? index - 2 : index - 1;
  return isWordCharAt(text, start);
}

/** Where the terms occur in `folded`, as sorted, non-overlapping [start, end) ranges. */
export function findTerms(folded: string, terms: readonly HighlightTerm[], maxRanges = 64): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const term of terms) {
    if (term.text.length === 0) continue;
    for (let at = folded.indexOf(term.text); at !== -1 && ranges.length < maxRanges * 4; at = folded.indexOf(term.text, at + 1)) {
      let end = at + term.text.length;
      if (term.kind === 'word') {
        if (isWordCharBefore(folded, at)) continue;
        if (term.prefix) {
          while (isWordCharAt(folded, end)) end += 1;
        } else if (isWordCharAt(folded, end)) {
          continue;
        }
      }
      ranges.push([at, end]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged: Array<[number, number]> = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([range[0], range[1]]);
    if (merged.length >= maxRanges) break;
  }
  return merged;
}
