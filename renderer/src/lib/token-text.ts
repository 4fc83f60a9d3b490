// A token's text as the token view shows it: spaces, line breaks and tabs made visible.
import { t } from './i18n/index.svelte.ts';

export function showToken(text: string): string {
  if (text === '') return t('tokens.empty');
  return text.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\t/g, '⇥');
}
