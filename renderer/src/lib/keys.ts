// Keyboard helpers shared by the composer and the message editor.

/**
 * Whether this keydown should send: Enter without Shift (or Alt), and never while an input
 * method is composing (Chinese, Japanese...: Enter then commits the composition). Chromium
 * sets isComposing; Safari sends the committing Enter after compositionend with keyCode 229,
 * so both are checked, and the caller's own composition flag too.
 */
export function isSendKey(event: KeyboardEvent, composing: boolean): boolean {
  if (event.key !== 'Enter' || event.shiftKey || event.altKey) return false;
  if (composing || event.isComposing || event.keyCode === 229) return false;
  return true;
}

/** Ctrl on Windows and Linux, ⌘ on macOS. */
export function isMod(event: KeyboardEvent): boolean {
  return /Mac|iPhone|iPad/.test(navigator.platform) ? event.metaKey : event.ctrlKey;
}

export const MOD_LABEL = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘' : 'Ctrl';
