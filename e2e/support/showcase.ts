// Markdown answers for the scripted host: a short showcase of what answers contain (used by
// the specs and the screenshots), and a long one for the UI bench.

export const SHOWCASE = [
  '## Sorting in TypeScript',
  '',
  'Here is a **stable** sort that keeps equal items in order, and a note on *complexity*:',
  '',
  '1. Copy the array.',
  '2. Sort with a comparator.',
  '3. Return the copy.',
  '',
  '```ts',
  'export function sortBy<T>(items: readonly T[], key: (item: T) => number): T[] {',
  '  // Array.prototype.sort is stable since ES2019',
  '  return [...items].sort((a, b) => key(a) - key(b));',
  '}',
  '```',
  '',
  'It runs in $O(n \\log n)$ time; the expected number of comparisons is',
  '',
  '$$',
  '\\sum_{i=1}^{n} \\log_2 i \\approx n \\log_2 n - 1.44\\,n',
  '$$',
  '',
  '| Input size | Comparisons |',
  '|-----------:|------------:|',
  '| 10 | 22 |',
  '| 1,000 | 8,530 |',
  '',
  '> Tip: see [MDN on Array.sort](https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Global_Objects/Array/sort) for details.',
].join('\n');

/** About `tokens` tokens of markdown: sections of headings, paragraphs, lists and code blocks. */
export function longMarkdown(tokens = 3000): string {
  const parts: string[] = [];
  let section = 0;
  // About 2.5 characters a token with the scripted host's tokenizer.
  while (parts.join('\n').length < tokens * 2.5) {
    section += 1;
    parts.push(
      `## Section ${section}: notes on step ${section}`,
      '',
      `This paragraph explains step ${section} in plain words, with **bold** and *italic* text, \`inline code\` and a [link](https://example.com/${section}).`,
      '',
      `- first point of section ${section}`,
      `- second point, a little longer than the first one`,
      `- third point with \`code\``,
      '',
      '```python',
      `def step_${section}(values):`,
      `    total = sum(v * ${section} for v in values)`,
      '    return total / max(len(values), 1)',
      '```',
      '',
    );
  }
  return parts.join('\n');
}
