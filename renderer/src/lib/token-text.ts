// A token's text as the token view shows it: spaces, line breaks and tabs made visible.
import { t } from './i18n/index.svelte.ts';

// Characters that draw nothing: controls (\p{Cc}) other than tab and line feed, and zero-width
// format characters (\p{Cf}). A token made of them would be an empty, unclickable span in the
// running text.
const INVISIBLE = /[\p{Cc}\p{Cf}]/gu;

/**
 * A token's text for the running token view: as written, except characters that draw nothing,
 * which become their Unicode control picture (carriage return ␍, ETB ␗, DEL ␡) or ◌.
 */
export function tokenViewText(text: string): string {
  return text.replace(INVISIBLE, (c) => {
    if (c === '\t' || c === '\n') return c;
    const code = c.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return '\u2421';
    return '\u25cc';
  });
}

export function showToken(text: string): string {
  if (text === '') return t('tokens.empty');
  return tokenViewText(text).replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\t/g, '⇥');
}
