// The markdown renderer for the current UI language, with its words from the locale.
import { rendererFor } from './markdown/index.ts';
import type { MarkdownRenderer } from './markdown/render.ts';
import { currentLanguage, t } from './i18n/index.svelte.ts';

export function currentRenderer(): { renderer: MarkdownRenderer; language: string } {
  const language = currentLanguage();
  return {
    language,
    renderer: rendererFor(language, { copyCode: t('chat.copy'), imageNotLoaded: t('chat.imageNotLoaded'), linkNotAllowed: t('chat.linkNotAllowed') }),
  };
}

export function copyLabels(): { copied: string; failed: string } {
  return { copied: t('chat.copied'), failed: t('chat.copyFailed') };
}

/** Performance marks for the UI bench (`?perf=1`): one User Timing measure per render. */
export const perfEnabled = typeof location !== 'undefined' && new URLSearchParams(location.search).has('perf');
