// Markdown of model output to sanitized HTML. markdown-it (CommonMark, GFM tables and
// strikethrough, `html: false`), highlight.js for fenced code with a named language, KaTeX for
// LaTeX (math.ts), DOMPurify behind it all (sanitize.ts). Links are kept only for https:
// addresses; images are never loaded, only named.
//
// `parseBlocks` exposes markdown-it's token stream split at top-level blocks, which is what the
// streaming renderer (stream.ts) needs to freeze finished blocks and re-render only the last.
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import kotlin from 'highlight.js/lib/languages/kotlin';
import markdownLang from 'highlight.js/lib/languages/markdown';
import php from 'highlight.js/lib/languages/php';
import python from 'highlight.js/lib/languages/python';
import ruby from 'highlight.js/lib/languages/ruby';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import swift from 'highlight.js/lib/languages/swift';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import markdownIt, { type MarkdownIt, type Token } from 'markdown-it';
import { escapeHtml, mathPlugin } from './math.ts';
import { isSafeHref, sanitizeHtml } from './sanitize.ts';

const LANGUAGES = { bash, c, cpp, csharp, css, diff, go, java, javascript, json, kotlin, markdown: markdownLang, php, python, ruby, rust, shell, sql, swift, typescript, xml, yaml };
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language);
hljs.registerAliases(['js', 'jsx', 'mjs'], { languageName: 'javascript' });
hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' });
hljs.registerAliases(['py'], { languageName: 'python' });
hljs.registerAliases(['sh', 'zsh', 'console'], { languageName: 'bash' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
hljs.registerAliases(['yml'], { languageName: 'yaml' });
hljs.registerAliases(['rs'], { languageName: 'rust' });
hljs.registerAliases(['c++', 'hpp', 'cc'], { languageName: 'cpp' });
hljs.registerAliases(['cs'], { languageName: 'csharp' });
hljs.registerAliases(['md'], { languageName: 'markdown' });

/** Words the rendered HTML carries (the code block's copy button, the blocked image note). */
export interface MarkdownLabels {
  copyCode: string;
  imageNotLoaded: string;
  linkNotAllowed: string;
}

const COPY_ICON =
  '<svg class="code-icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 2h7a1 1 0 0 1 1 1v1h-1.5V3.5h-6v7H5V12H4a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1zm3 3h6a1 1 0 0 1 1 1v7a1 1 0 0 1-1 1H7a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zm.5 1.5v6h5v-6h-5z"/></svg>';

function highlight(code: string, language: string): string {
  const name = language.toLowerCase();
  if (!name || !hljs.getLanguage(name)) return escapeHtml(code);
  try {
    return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
  } catch {
    return escapeHtml(code);
  }
}

export function createMarkdown(labels: MarkdownLabels): MarkdownIt {
  const md = markdownIt({ html: false, linkify: true, typographer: false, breaks: false });
  md.use(mathPlugin);
  md.validateLink = (url) => isSafeHref(url);
  md.linkify.set({ fuzzyLink: false, fuzzyEmail: false, fuzzyIP: false });
  // Table alignment as a class, not markdown-it's style attribute (the CSP refuses those).
  md.core.ruler.push('align_classes', (state) => {
    for (const token of state.tokens) {
      if (token.type !== 'th_open' && token.type !== 'td_open') continue;
      const align = /text-align:(left|right|center)/.exec(String(token.attrGet('style') ?? ''))?.[1];
      if (!align) continue;
      token.attrs = (token.attrs ?? []).filter(([name]) => name !== 'style');
      token.attrJoin('class', `md-align-${align}`);
    }
  });

  md.renderer.rules.fence = (tokens, index) => {
    const token = tokens[index]!;
    const language = token.info.trim().split(/\s+/)[0] ?? '';
    const shown = language ? `<span class="code-lang">${escapeHtml(language.slice(0, 30))}</span>` : '<span class="code-lang"></span>';
    const languageClass = language && /^[\w+#-]{1,30}$/.test(language) ? ` class="language-${escapeHtml(language)}"` : '';
    return (
      `<div class="code-block"><div class="code-head">${shown}` +
      `<button type="button" class="code-copy" title="${escapeHtml(labels.copyCode)}" aria-label="${escapeHtml(labels.copyCode)}">${COPY_ICON}</button></div>` +
      `<pre><code${languageClass}>${highlight(token.content, language)}</code></pre></div>\n`
    );
  };
  md.renderer.rules.code_block = (tokens, index) =>
    `<div class="code-block"><div class="code-head"><span class="code-lang"></span><button type="button" class="code-copy" title="${escapeHtml(labels.copyCode)}" aria-label="${escapeHtml(labels.copyCode)}">${COPY_ICON}</button></div><pre><code>${escapeHtml(tokens[index]!.content)}</code></pre></div>\n`;

  // Images are never fetched: the alt text and the host they would have come from.
  md.renderer.rules.image = (tokens, index) => {
    const token = tokens[index]!;
    const alt = token.children ? md.renderer.renderInlineAsText(token.children, md.options, {}) : token.content;
    let host = '';
    try {
      host = new URL(String(token.attrGet('src') ?? '')).host;
    } catch {
      host = '';
    }
    const title = `${labels.imageNotLoaded}${host ? ` (${host})` : ''}`;
    return `<span class="md-image" title="${escapeHtml(title)}"><span class="md-image-icon" aria-hidden="true">▨</span> ${escapeHtml(alt || labels.imageNotLoaded)}</span>`;
  };

  // A link markdown-it refused (validateLink) stays text; one it kept gets the marks of an external link.
  const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options));
  md.renderer.rules.link_open = (tokens, index, options, env, self) => {
    const token = tokens[index]!;
    token.attrSet('target', '_blank');
    token.attrSet('rel', 'noopener noreferrer nofollow');
    const href = String(token.attrGet('href') ?? '');
    token.attrSet('title', href.slice(0, 300));
    return defaultLinkOpen(tokens, index, options, env, self);
  };
  return md;
}

/** Top-level blocks of a token stream: [start, end) index ranges with the source lines they cover. */
export interface BlockRange {
  start: number;
  end: number;
  /** First source line of the block (0-based), from markdown-it's `map`. */
  line: number;
}

export function topLevelBlocks(tokens: Token[]): BlockRange[] {
  const blocks: BlockRange[] = [];
  let depth = 0;
  let current: BlockRange | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (depth === 0) {
      current = { start: i, end: i + 1, line: token.map?.[0] ?? (blocks.at(-1)?.line ?? 0) };
      blocks.push(current);
    }
    depth += token.nesting;
    if (current) current.end = i + 1;
  }
  return blocks;
}

export class MarkdownRenderer {
  readonly md: MarkdownIt;
  constructor(labels: MarkdownLabels) {
    this.md = createMarkdown(labels);
  }

  parse(text: string): Token[] {
    return this.md.parse(text, {});
  }

  /** Sanitized HTML of a slice of a token stream. */
  renderTokens(tokens: Token[]): string {
    if (tokens.length === 0) return '';
    return sanitizeHtml(this.md.renderer.render(tokens, this.md.options, {}));
  }

  /** Sanitized HTML of a whole text. */
  render(text: string): string {
    return this.renderTokens(this.parse(text));
  }
}
