// The renderer's entry to markdown: one MarkdownRenderer per UI language (its HTML carries a
// few words: the copy button, the blocked-image note), a cache of rendered messages so
// scrolling a long conversation back and forth does not parse the same text again, and the
// copy button's behaviour.
import { MarkdownRenderer, type MarkdownLabels } from './render.ts';

const renderers = new Map<string, MarkdownRenderer>();

export function rendererFor(language: string, labels: MarkdownLabels): MarkdownRenderer {
  let renderer = renderers.get(language);
  if (!renderer) {
    renderer = new MarkdownRenderer(labels);
    renderers.set(language, renderer);
  }
  return renderer;
}

const CACHE_LIMIT = 400;
const cache = new Map<string, { content: string; html: string }>();

/** Sanitized HTML of a finished message, cached by message id and language. */
export function renderCached(renderer: MarkdownRenderer, language: string, messageId: string, content: string): string {
  const key = `${language}:${messageId}`;
  const hit = cache.get(key);
  if (hit && hit.content === content) {
    cache.delete(key);
    cache.set(key, hit);
    return hit.html;
  }
  const html = renderer.render(content);
  cache.set(key, { content, html });
  while (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return html;
}

/** Copies text to the clipboard; falls back to a hidden selection where the API is refused. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'sr-only';
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

/**
 * Handles clicks on the code blocks' copy buttons inside `root` (one listener for all blocks,
 * including those rendered later). `labels` gives the words for the feedback.
 */
export function handleCodeCopy(root: HTMLElement, labels: () => { copied: string; failed: string }): () => void {
  const onClick = (event: MouseEvent): void => {
    const button = (event.target as Element | null)?.closest?.('button.code-copy');
    if (!button || !root.contains(button)) return;
    const code = button.closest('.code-block')?.querySelector('pre code');
    if (!code) return;
    void copyText(code.textContent ?? '').then((ok) => {
      const { copied, failed } = labels();
      button.setAttribute('data-copied', ok ? copied : failed);
      setTimeout(() => button.removeAttribute('data-copied'), 1500);
    });
  };
  root.addEventListener('click', onClick);
  return () => root.removeEventListener('click', onClick);
}
