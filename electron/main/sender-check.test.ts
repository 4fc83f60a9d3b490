import { describe, expect, it } from 'vitest';
import { fakeFrame, fakeInvokeEvent, fakeWebContents } from '../test-support/main/electron-fakes.ts';
import { TrustedWindows, checkSender, type SenderFrame } from './sender-check.ts';

function setup() {
  const trust = new TrustedWindows();
  const contents = fakeWebContents();
  const untrust = trust.add(contents);
  return { trust, contents, untrust };
}

describe('checkSender', () => {
  it('accepts the main frame of our window showing our page', () => {
    const { trust, contents } = setup();
    expect(checkSender(fakeInvokeEvent(contents), trust)).toEqual({ ok: true });
  });

  it.each([
    ['another https origin', 'https://jielong.example/index.html'],
    ['a look-alike host', 'app://jielong.evil/index.html'],
    ['a host with a port', 'app://jielong:8080/index.html'],
    ['an upper-case host Chromium would never report', 'app://JIELONG/index.html'],
    ['credentials in the URL', 'app://user@jielong/index.html'],
    ['a file URL', 'file:///tmp/index.html'],
    ['a data URL', 'data:text/html,<script>1</script>'],
    ['about:blank', 'about:blank'],
    ['an empty URL', ''],
    ['garbage', 'not a url'],
  ])('refuses a main frame showing %s', (_name, url) => {
    const { trust, contents } = setup();
    contents.mainFrame.url = url;
    expect(checkSender(fakeInvokeEvent(contents), trust)).toMatchObject({ ok: false, reason: 'wrong_origin' });
  });

  it('refuses a sub-frame, even one showing our own origin', () => {
    const { trust, contents } = setup();
    // Same ids as the main frame, so only the parent check can tell it apart.
    const child = fakeFrame({ parent: contents.mainFrame, processId: contents.mainFrame.processId, routingId: contents.mainFrame.routingId });
    expect(checkSender(fakeInvokeEvent(contents, child), trust)).toMatchObject({ ok: false, reason: 'not_main_frame' });
  });

  it('refuses a parentless frame that is not the window main frame', () => {
    const { trust, contents } = setup();
    const stray = fakeFrame({ parent: null }); // different routing id
    expect(checkSender(fakeInvokeEvent(contents, stray), trust)).toMatchObject({ ok: false, reason: 'not_main_frame' });
  });

  it('refuses the main frame of a window we did not create, and a window no longer trusted', () => {
    const { trust, contents, untrust } = setup();
    expect(checkSender(fakeInvokeEvent(fakeWebContents()), trust)).toMatchObject({ ok: false, reason: 'untrusted_window' });
    untrust();
    expect(checkSender(fakeInvokeEvent(contents), trust)).toMatchObject({ ok: false, reason: 'untrusted_window' });
  });

  it('refuses a webContents with the id of a trusted one but destroyed', () => {
    const { trust, contents } = setup();
    contents.destroyed = true;
    expect(checkSender(fakeInvokeEvent(contents), trust)).toMatchObject({ ok: false, reason: 'untrusted_window' });
  });

  it('refuses a null senderFrame (the frame navigated away before we looked)', () => {
    const { trust, contents } = setup();
    expect(checkSender(fakeInvokeEvent(contents, null), trust)).toMatchObject({ ok: false, reason: 'sender_gone' });
  });

  it('refuses a destroyed frame, a detached frame, and a frame whose properties throw', () => {
    const { trust, contents } = setup();
    contents.mainFrame.destroyed = true;
    expect(checkSender(fakeInvokeEvent(contents), trust)).toMatchObject({ ok: false, reason: 'sender_gone' });
    contents.mainFrame.destroyed = false;
    contents.mainFrame.detached = true;
    expect(checkSender(fakeInvokeEvent(contents), trust)).toMatchObject({ ok: false, reason: 'sender_gone' });
    contents.mainFrame.detached = false;
    const disposed = Object.defineProperty({ ...contents.mainFrame }, 'url', {
      get() {
        throw new Error('Render frame was disposed before WebFrameMain could be accessed');
      },
    }) as SenderFrame;
    expect(checkSender(fakeInvokeEvent(contents, disposed), trust)).toMatchObject({ ok: false, reason: 'sender_gone', detail: expect.stringContaining('disposed') });
  });
});

describe('TrustedWindows', () => {
  it('lists only live trusted webContents, and forgets one only through its own remover', () => {
    const trust = new TrustedWindows();
    const a = fakeWebContents();
    const b = fakeWebContents();
    const removeA = trust.add(a);
    trust.add(b);
    b.destroyed = true;
    expect(trust.list()).toEqual([a]);
    // A webContents re-added under the same id is not removed by the old remover.
    const again = fakeWebContents(a.mainFrame, { id: a.id });
    trust.add(again);
    removeA();
    expect(trust.has(again)).toBe(true);
  });
});
