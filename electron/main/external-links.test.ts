import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { MAX_EXTERNAL_URL_LENGTH, checkExternalUrl, confirmOptionsFor, createExternalLinkOpener, type ConfirmOptions } from './external-links.ts';

describe('checkExternalUrl', () => {
  it('accepts a plain https link and returns its normalised form', () => {
    expect(checkExternalUrl('https://Example.com/a?b=c#d')).toEqual({
      ok: true,
      url: 'https://example.com/a?b=c#d',
      host: 'example.com',
      internationalHost: false,
    });
  });

  it('accepts a look-alike subdomain, but as itself: the host is the real one', () => {
    const check = checkExternalUrl('https://example.com.attacker.com/login');
    expect(check).toMatchObject({ ok: true, host: 'example.com.attacker.com' });
  });

  it('keeps a non-default port in the host shown', () => {
    expect(checkExternalUrl('https://example.com:8443/')).toMatchObject({ ok: true, host: 'example.com:8443' });
    expect(checkExternalUrl('https://example.com:443/')).toMatchObject({ ok: true, host: 'example.com' });
  });

  it('shows an international host in punycode and flags it', () => {
    // Cyrillic look-alike of "apple.com".
    const check = checkExternalUrl('https://\u0430\u0440\u0440\u04cf\u0435.com/');
    expect(check).toMatchObject({ ok: true, host: 'xn--80ak6aa92e.com', url: 'https://xn--80ak6aa92e.com/', internationalHost: true });
    expect(checkExternalUrl('https://xn--exmple-cua.com/')).toMatchObject({ ok: true, internationalHost: true });
  });

  it.each([
    ['javascript:', 'javascript:alert(1)', 'not_https'],
    ['JavaScript: in mixed case', 'JaVaScRiPt:alert(1)', 'not_https'],
    ['file:', 'file:///etc/passwd', 'not_https'],
    ['data:', 'data:text/html,<script>alert(1)</script>', 'not_https'],
    ['http:', 'http://example.com/', 'not_https'],
    ['our own scheme', 'app://jielong/index.html', 'not_https'],
    ['a custom handler scheme', 'ms-settings:privacy', 'not_https'],
    ['a relative path', '/index.html', 'not_a_url'],
    ['a bare host', 'example.com', 'not_a_url'],
    ['no host', 'https://', 'not_a_url'],
    ['a user name', 'https://user@example.com/', 'credentials'],
    ['a user and password', 'https://user:pw@example.com/', 'credentials'],
    ['an empty user-info', 'https://@example.com/', 'credentials'],
    ['a host hidden after user-info', 'https://example.com@attacker.com/', 'credentials'],
    ['a leading space', ' https://example.com/', 'hidden_characters'],
    ['a trailing newline', 'https://example.com/\n', 'hidden_characters'],
    ['a tab the parser would strip', 'https://exa\tmple.com/', 'hidden_characters'],
    ['a NUL', 'https://example.com/\u0000', 'hidden_characters'],
    ['a DEL', 'https://example.com/\u007f', 'hidden_characters'],
    ['a right-to-left override', 'https://example.com/\u202Egnp.exe', 'hidden_characters'],
    ['a zero-width space', 'https://exam\u200Bple.com/', 'hidden_characters'],
    ['a no-break space', 'https://example.com/\u00A0', 'hidden_characters'],
    ['a BOM', '\uFEFFhttps://example.com/', 'hidden_characters'],
    ['an empty string', '', 'not_text'],
    ['a number', 42, 'not_text'],
    ['an object', { href: 'https://example.com/' }, 'not_text'],
    ['null', null, 'not_text'],
  ])('refuses %s', (_name, raw, reason) => {
    const check = checkExternalUrl(raw);
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.reason).toBe(reason);
      expect(check.message.length).toBeGreaterThan(0);
    }
  });

  it('refuses very long URLs, before and after normalisation', () => {
    const base = 'https://example.com/';
    expect(checkExternalUrl(base + 'a'.repeat(MAX_EXTERNAL_URL_LENGTH - base.length))).toMatchObject({ ok: true });
    expect(checkExternalUrl(base + 'a'.repeat(MAX_EXTERNAL_URL_LENGTH))).toMatchObject({ ok: false, reason: 'too_long' });
    // Short enough raw, too long once percent-encoded.
    const encodedGrows = base + '"'.repeat(MAX_EXTERNAL_URL_LENGTH - base.length);
    expect(encodedGrows.length).toBe(MAX_EXTERNAL_URL_LENGTH);
    expect(checkExternalUrl(encodedGrows)).toMatchObject({ ok: false, reason: 'too_long' });
  });

  it('property: whatever it accepts is https, credential-free, and re-parses to itself', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string(), fc.string({ unit: 'binary' }).map((tail) => `https://${tail}`)), (raw) => {
        const check = checkExternalUrl(raw);
        if (!check.ok) return;
        accepted += 1;
        const url = new URL(check.url);
        expect(url.protocol).toBe('https:');
        expect(url.username + url.password).toBe('');
        expect(url.href).toBe(check.url);
        expect(url.host).toBe(check.host);
        expect(check.url.length).toBeLessThanOrEqual(MAX_EXTERNAL_URL_LENGTH);
      }),
      { numRuns: 500 },
    );
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('confirmOptionsFor', () => {
  it('puts the real host in the headline and the exact URL in the detail; Cancel is the default', () => {
    const check = checkExternalUrl('https://example.com.attacker.com/login?next=/');
    if (!check.ok) throw new Error('expected ok');
    const options = confirmOptionsFor(check);
    expect(options.message).toBe('Open example.com.attacker.com in your browser?');
    expect(options.detail.split('\n')[0]).toBe('https://example.com.attacker.com/login?next=/');
    expect(options.buttons[options.defaultId]).toBe('Cancel');
    expect(options.cancelId).toBe(options.defaultId);
  });

  it('warns about international hosts', () => {
    const check = checkExternalUrl('https://xn--80ak6aa92e.com/');
    if (!check.ok) throw new Error('expected ok');
    const options = confirmOptionsFor(check);
    expect(options.type).toBe('warning');
    expect(options.detail).toContain('international characters');
  });
});

describe('createExternalLinkOpener', () => {
  function setup(response: number) {
    const shown: ConfirmOptions[] = [];
    const dialog = { showMessageBox: vi.fn(async (options: ConfirmOptions) => (shown.push(options), { response })) };
    const shell = { openExternal: vi.fn(async (_url: string) => undefined) };
    const open = createExternalLinkOpener({ dialog, shell, log: () => undefined });
    return { dialog, shell, open, shown };
  }

  it('opens the normalised URL only after the person confirms', async () => {
    const { open, shell, shown } = setup(1);
    expect(await open('https://Example.com/x')).toEqual({ opened: true, url: 'https://example.com/x' });
    expect(shown).toHaveLength(1);
    expect(shell.openExternal).toHaveBeenCalledExactlyOnceWith('https://example.com/x');
  });

  it('opens nothing when the person declines or dismisses', async () => {
    const { open, shell } = setup(0);
    expect(await open('https://example.com/')).toMatchObject({ opened: false, reason: 'declined' });
    expect(shell.openExternal).not.toHaveBeenCalled();
  });

  it('never shows a dialog for a refused URL', async () => {
    const { open, shell, dialog } = setup(1);
    expect(await open('javascript:alert(1)')).toMatchObject({ opened: false, reason: 'not_https' });
    expect(await open('https://user@example.com/')).toMatchObject({ opened: false, reason: 'credentials' });
    expect(dialog.showMessageBox).not.toHaveBeenCalled();
    expect(shell.openExternal).not.toHaveBeenCalled();
  });

  it('refuses a second link while a confirmation is showing', async () => {
    let answer: (value: { response: number }) => void = () => undefined;
    const dialog = { showMessageBox: vi.fn(() => new Promise<{ response: number }>((resolve) => (answer = resolve))) };
    const shell = { openExternal: vi.fn(async () => undefined) };
    const open = createExternalLinkOpener({ dialog, shell, log: () => undefined });
    const first = open('https://one.example/');
    expect(await open('https://two.example/')).toMatchObject({ opened: false, reason: 'busy' });
    answer({ response: 1 });
    expect(await first).toEqual({ opened: true, url: 'https://one.example/' });
    expect(shell.openExternal).toHaveBeenCalledExactlyOnceWith('https://one.example/');
    // Free again afterwards.
    const third = open('https://three.example/');
    answer({ response: 0 });
    expect(await third).toMatchObject({ reason: 'declined' });
  });

  it('turns a failing dialog or browser into a result, not an exception', async () => {
    const open = createExternalLinkOpener({
      dialog: { showMessageBox: async () => Promise.reject(new Error('no display')) },
      shell: { openExternal: async () => undefined },
      log: () => undefined,
    });
    expect(await open('https://example.com/')).toMatchObject({ opened: false, reason: 'failed' });
    const openWithBrokenShell = createExternalLinkOpener({
      dialog: { showMessageBox: async () => ({ response: 1 }) },
      shell: { openExternal: async () => Promise.reject(new Error('no browser')) },
      log: () => undefined,
    });
    expect(await openWithBrokenShell('https://example.com/')).toMatchObject({ opened: false, reason: 'failed' });
  });
});
