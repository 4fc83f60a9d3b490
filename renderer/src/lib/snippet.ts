// A search snippet cut into plain and highlighted parts (rendered as text and <mark>, never HTML).
import type { SearchSnippet } from '@shared/chat-types.ts';

export function snippetParts(snippet: SearchSnippet): Array<{ text: string; match: boolean }> {
  const parts: Array<{ text: string; match: boolean }> = [];
  const ranges = [...snippet.highlights].filter(([start, end]) => end > start).sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [start, end] of ranges) {
    const from = Math.max(start, at);
    const to = Math.min(end, snippet.text.length);
    if (to <= from) continue;
    if (from > at) parts.push({ text: snippet.text.slice(at, from), match: false });
    parts.push({ text: snippet.text.slice(from, to), match: true });
    at = to;
  }
  if (at < snippet.text.length) parts.push({ text: snippet.text.slice(at), match: false });
  return parts;
}
