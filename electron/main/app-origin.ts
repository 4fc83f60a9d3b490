// The one origin the app's own pages live at. Everything that decides "is this us?" (IPC
// sender checks, navigation guards, event pushes, the protocol handler) asks this module, so
// the answer cannot drift between them.

/** The privileged scheme the renderer is served from (see app-protocol.ts). */
export const APP_SCHEME = 'app';
/** The only host under that scheme. */
export const APP_HOST = 'jielong';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** What the window loads. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * True when `url` is a page of ours: scheme `app:`, host exactly `jielong`, no port, no
 * credentials. Anything that does not parse is not ours.
 *
 * Node's URL parser treats `app:` as a non-special scheme (its `origin` is the string "null"
 * and the host keeps its case), so the parts are compared one by one instead of by origin.
 * Chromium, where `app` is registered as a standard scheme, lower-cases the host before we
 * see it; an upper-case host therefore never comes from a real frame and is refused.
 */
export function isAppUrl(url: unknown): boolean {
  if (typeof url !== 'string' || url.length === 0) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    parsed.protocol === `${APP_SCHEME}:` &&
    parsed.hostname === APP_HOST &&
    parsed.port === '' &&
    parsed.username === '' &&
    parsed.password === ''
  );
}
