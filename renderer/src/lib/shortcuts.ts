// The keyboard shortcuts: one table for the handler (App.svelte) and the help dialog.
// Ctrl/⌘+K search and Ctrl/⌘+Shift+O new chat are what other chat apps use; regenerate is
// Ctrl/⌘+Shift+G ("generate again"): Ctrl+Shift+R reloads the page in a browser, and the
// token view is Ctrl/⌘+Shift+E because Ctrl+Shift+T belongs to the browser.
import type { MessageKey } from './i18n/index.svelte.ts';
import { isMod, MOD_LABEL } from './keys.ts';

export type ShortcutId = 'newChat' | 'search' | 'stop' | 'regenerate' | 'tokenView' | 'settings' | 'help' | 'send' | 'newline';

export interface Shortcut {
  id: ShortcutId;
  label: MessageKey;
  keys: () => string[];
  /** Whether a keydown is this shortcut; absent for keys handled where they apply (send, newline). */
  matches?: (event: KeyboardEvent) => boolean;
}

const letter = (event: KeyboardEvent, code: string): boolean => event.code === code || event.key.toLowerCase() === code.slice(-1).toLowerCase();

export const SHORTCUTS: readonly Shortcut[] = [
  { id: 'newChat', label: 'shortcuts.newChat', keys: () => [MOD_LABEL, 'Shift', 'O'], matches: (e) => isMod(e) && e.shiftKey && !e.altKey && letter(e, 'KeyO') },
  { id: 'search', label: 'shortcuts.search', keys: () => [MOD_LABEL, 'K'], matches: (e) => isMod(e) && !e.shiftKey && !e.altKey && letter(e, 'KeyK') },
  { id: 'stop', label: 'shortcuts.stop', keys: () => ['Esc'], matches: (e) => e.key === 'Escape' && !isMod(e) && !e.shiftKey },
  { id: 'regenerate', label: 'shortcuts.regenerate', keys: () => [MOD_LABEL, 'Shift', 'G'], matches: (e) => isMod(e) && e.shiftKey && !e.altKey && letter(e, 'KeyG') },
  { id: 'tokenView', label: 'shortcuts.tokenView', keys: () => [MOD_LABEL, 'Shift', 'E'], matches: (e) => isMod(e) && e.shiftKey && !e.altKey && letter(e, 'KeyE') },
  { id: 'settings', label: 'shortcuts.settings', keys: () => [MOD_LABEL, ','], matches: (e) => isMod(e) && !e.shiftKey && e.key === ',' },
  { id: 'help', label: 'shortcuts.help', keys: () => [MOD_LABEL, '/'], matches: (e) => isMod(e) && (e.key === '/' || e.key === '?') },
  { id: 'send', label: 'shortcuts.send', keys: () => ['Enter'] },
  { id: 'newline', label: 'shortcuts.newline', keys: () => ['Shift', 'Enter'] },
];
