// Links that leave the app. A page of ours never navigates to the web and never opens a
// window; an https link goes through this flow instead: check the URL, show the person the
// exact address with its real host up front, and hand it to the system browser only if they
// confirm.
//
// The point of the check is that what is shown is what gets opened: the URL is parsed with
// the WHATWG parser (the one the browser will use), and its normalised form is both displayed
// and passed to shell.openExternal. `https://example.com.attacker.com` is allowed, but its
// host, example.com.attacker.com, is the headline of the dialog; an IDN host appears in its
// punycode form (xn--...), which is what look-alike characters cannot imitate.

export const MAX_EXTERNAL_URL_LENGTH = 2_048;

export type ExternalUrlRefusal =
  | 'not_text'
  | 'too_long'
  | 'hidden_characters'
  | 'not_a_url'
  | 'not_https'
  | 'credentials'
  | 'no_host';

export type ExternalUrlCheck =
  | {
      ok: true;
      /** The normalised URL: shown to the person and opened, byte for byte. */
      url: string;
      /** hostname[:port] in ASCII (punycode for international names). */
      host: string;
      /** True when a label of the host is punycode (xn--), i.e. the name has non-ASCII characters. */
      internationalHost: boolean;
    }
  | { ok: false; reason: ExternalUrlRefusal; message: string };

/**
 * Whitespace, control and invisible formatting characters (bidi overrides, zero-width
 * joiners, soft hyphens, BOM...). The URL parser silently strips tabs and newlines inside a
 * URL and trims the ends, so a string containing any of these would not open what it looks
 * like; such a link is refused rather than cleaned up.
 */
const HIDDEN_CHARACTERS = /[\s\p{Cc}\p{Cf}\p{Z}]/u;

export function checkExternalUrl(raw: unknown): ExternalUrlCheck {
  if (typeof raw !== 'string' || raw.length === 0) return refuse('not_text', 'The link is empty.');
  if (raw.length > MAX_EXTERNAL_URL_LENGTH) return refuse('too_long', `The link is longer than ${MAX_EXTERNAL_URL_LENGTH} characters.`);
  if (HIDDEN_CHARACTERS.test(raw)) return refuse('hidden_characters', 'The link contains spaces or invisible characters.');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('not_a_url', 'The link is not a valid web address.');
  }
  if (url.protocol !== 'https:') {
    return refuse('not_https', `Only secure web links (https) can be opened; this one is ${url.protocol.replace(/:$/, '') || 'of no known kind'}.`);
  }
  // `https://@host` parses with an empty user name and loses the "@" on normalisation; the
  // raw authority is checked too so any user-info form is refused, not just a non-empty one.
  if (url.username !== '' || url.password !== '' || rawAuthority(raw).includes('@')) {
    return refuse('credentials', 'The link contains a user name or password.');
  }
  if (url.hostname === '') return refuse('no_host', 'The link has no host.');
  const href = url.href;
  if (href.length > MAX_EXTERNAL_URL_LENGTH) return refuse('too_long', `The link is longer than ${MAX_EXTERNAL_URL_LENGTH} characters.`);
  const internationalHost = url.hostname.split('.').some((label) => label.startsWith('xn--'));
  return { ok: true, url: href, host: url.host, internationalHost };
}

/** What sits between "scheme:" (plus any slashes or backslashes) and the path. */
function rawAuthority(raw: string): string {
  const afterScheme = raw.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:[/\\]*/, '');
  const end = afterScheme.search(/[/\\?#]/);
  return end === -1 ? afterScheme : afterScheme.slice(0, end);
}

function refuse(reason: ExternalUrlRefusal, message: string): ExternalUrlCheck {
  return { ok: false, reason, message };
}

// ---- the confirmation flow ----

/** The part of Electron's MessageBoxOptions this flow sets. */
export interface ConfirmOptions {
  type: 'question' | 'warning';
  title: string;
  message: string;
  detail: string;
  buttons: string[];
  defaultId: number;
  cancelId: number;
  noLink: boolean;
}

/** Electron's `dialog` (or a wrapper that adds the parent window), injected. */
export interface ConfirmDialog {
  showMessageBox(options: ConfirmOptions): Promise<{ response: number }>;
}

/** Electron's `shell`, injected. */
export interface ExternalOpener {
  openExternal(url: string): Promise<void>;
}

const OPEN_BUTTON = 1;

/** The dialog for a checked URL: the host is the headline, the full address is below it. */
export function confirmOptionsFor(check: Extract<ExternalUrlCheck, { ok: true }>): ConfirmOptions {
  const lines = [check.url, ''];
  if (check.internationalHost) {
    lines.push(
      'This address contains international characters, shown in their encoded form (xn--…). Make sure it is the site you expect.',
      '',
    );
  }
  lines.push('It will open in your web browser. Only open links you trust.');
  return {
    type: check.internationalHost ? 'warning' : 'question',
    title: 'Open link',
    message: `Open ${check.host} in your browser?`,
    detail: lines.join('\n'),
    buttons: ['Cancel', 'Open in browser'],
    defaultId: 0,
    cancelId: 0,
    noLink: true,
  };
}

export type ExternalLinkOutcome =
  | { opened: true; url: string }
  | { opened: false; reason: ExternalUrlRefusal | 'declined' | 'busy' | 'failed'; message: string };

export interface ExternalLinkDeps {
  dialog: ConfirmDialog;
  shell: ExternalOpener;
  log?: (message: string, detail?: unknown) => void;
}

/**
 * The whole flow as one function: check, confirm, open. Never throws. One dialog at a time:
 * a link requested while a confirmation is showing is refused as `busy` (a page cannot queue
 * up a stack of dialogs).
 */
export function createExternalLinkOpener(deps: ExternalLinkDeps): (raw: unknown) => Promise<ExternalLinkOutcome> {
  let asking = false;
  const log = deps.log ?? ((message: string, detail?: unknown) => console.warn(`[external-link] ${message}`, detail ?? ''));
  return async (raw) => {
    const check = checkExternalUrl(raw);
    if (!check.ok) {
      log(`refused a link: ${check.reason}`);
      return { opened: false, reason: check.reason, message: check.message };
    }
    if (asking) return { opened: false, reason: 'busy', message: 'Another link is waiting for confirmation.' };
    asking = true;
    let response: number;
    try {
      ({ response } = await deps.dialog.showMessageBox(confirmOptionsFor(check)));
    } catch (error) {
      log('the confirmation dialog failed', error);
      return { opened: false, reason: 'failed', message: 'The confirmation could not be shown.' };
    } finally {
      asking = false;
    }
    if (response !== OPEN_BUTTON) return { opened: false, reason: 'declined', message: 'Not opened.' };
    try {
      await deps.shell.openExternal(check.url);
      return { opened: true, url: check.url };
    } catch (error) {
      log('the system browser could not be started', error);
      return { opened: false, reason: 'failed', message: 'The link could not be opened in your browser.' };
    }
  };
}
