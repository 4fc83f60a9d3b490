import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  IPC_ERROR,
  TrustedWindows,
  createEventSender,
  registerValidatedHandler,
  sendToAppWindows,
  type IpcResult,
  type SenderFrame,
} from './ipc-validation.ts';
import { FakeIpcMain, fakeFrame, fakeInvokeEvent, fakeWebContents } from './test-fakes.ts';

const payloadSchema = z
  .object({
    text: z.string().max(10),
    count: z.number().int().min(0).default(1),
  })
  .strict();

function setup(options: Parameters<typeof registerValidatedHandler>[5] = {}) {
  const ipcMain = new FakeIpcMain();
  const trust = new TrustedWindows();
  const contents = fakeWebContents();
  const untrust = trust.add(contents);
  const handler = vi.fn(async (payload: z.output<typeof payloadSchema>) => ({ echoed: payload.text.repeat(payload.count) }));
  const log = vi.fn();
  const unregister = registerValidatedHandler(ipcMain, 'test:echo', payloadSchema, handler, trust, { log, ...options });
  const call = (event = fakeInvokeEvent(contents), ...args: unknown[]) => ipcMain.invoke('test:echo', event, ...args) as Promise<IpcResult<unknown>>;
  return { ipcMain, trust, contents, untrust, handler, log, unregister, call };
}

function expectError(result: IpcResult<unknown>, code: string): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(code);
  expect(typeof result.error.message).toBe('string');
  expect(result.error.message.length).toBeGreaterThan(0);
}

describe('registerValidatedHandler: who may call', () => {
  it('runs the handler for the main frame of our window and returns the parsed payload result', async () => {
    const { call, handler, contents } = setup();
    const result = await call(fakeInvokeEvent(contents), { text: 'ab', count: 2 });
    expect(result).toEqual({ ok: true, value: { echoed: 'abab' } });
    // The handler sees the schema's output (defaults applied), and the sender.
    await call(fakeInvokeEvent(contents), { text: 'x' });
    expect(handler).toHaveBeenLastCalledWith({ text: 'x', count: 1 }, { channel: 'test:echo', sender: contents });
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
  ])('refuses a main frame showing %s', async (_name, url) => {
    const { call, handler, contents, log } = setup();
    contents.mainFrame.url = url;
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.forbidden);
    expect(handler).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalledWith(expect.stringContaining('refused test:echo'), undefined);
  });

  it('refuses a sub-frame, even one showing our own origin', async () => {
    const { call, handler, contents } = setup();
    // Same ids as the main frame, so only the parent check can tell it apart.
    const child = fakeFrame({ parent: contents.mainFrame, processId: contents.mainFrame.processId, routingId: contents.mainFrame.routingId });
    expectError(await call(fakeInvokeEvent(contents, child), { text: 'a' }), IPC_ERROR.forbidden);
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses a parentless frame that is not the window main frame', async () => {
    const { call, handler, contents } = setup();
    const stray = fakeFrame({ parent: null }); // different routing id
    expectError(await call(fakeInvokeEvent(contents, stray), { text: 'a' }), IPC_ERROR.forbidden);
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses the main frame of a window we did not create', async () => {
    const { call, handler } = setup();
    const foreign = fakeWebContents();
    expectError(await call(fakeInvokeEvent(foreign), { text: 'a' }), IPC_ERROR.forbidden);
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses a window after it was removed from the trusted set', async () => {
    const { call, handler, contents, untrust } = setup();
    untrust();
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.forbidden);
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses a webContents with the id of a trusted one but destroyed', async () => {
    const { call, handler, contents } = setup();
    contents.destroyed = true;
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.forbidden);
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses a null senderFrame (the frame navigated away before we looked)', async () => {
    const { call, handler, contents } = setup();
    expectError(await call(fakeInvokeEvent(contents, null), { text: 'a' }), IPC_ERROR.forbidden);
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses a destroyed frame, a detached frame, and a frame whose properties throw', async () => {
    const { call, handler, contents } = setup();
    contents.mainFrame.destroyed = true;
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.forbidden);
    contents.mainFrame.destroyed = false;
    contents.mainFrame.detached = true;
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.forbidden);
    contents.mainFrame.detached = false;
    const disposed = Object.defineProperty({ ...contents.mainFrame }, 'url', {
      get() {
        throw new Error('Render frame was disposed before WebFrameMain could be accessed');
      },
    }) as SenderFrame;
    expectError(await call(fakeInvokeEvent(contents, disposed), { text: 'a' }), IPC_ERROR.forbidden);
    expect(handler).not.toHaveBeenCalled();
  });
});

describe('registerValidatedHandler: what may be sent', () => {
  it.each([
    ['nothing', []],
    ['a string', ['hello']],
    ['a wrong type', [{ text: 3 }]],
    ['an unknown field', [{ text: 'a', admin: true }]],
    ['a too-long string', [{ text: 'x'.repeat(11) }]],
    ['a negative count', [{ text: 'a', count: -1 }]],
    ['two arguments', [{ text: 'a' }, { text: 'b' }]],
  ])('refuses %s with invalid_input', async (_name, args) => {
    const { call, handler, contents } = setup();
    const result = await call(fakeInvokeEvent(contents), ...args);
    expectError(result, IPC_ERROR.invalidInput);
    expect(handler).not.toHaveBeenCalled();
  });

  it('names the offending field in the message', async () => {
    const { call, contents } = setup();
    const result = await call(fakeInvokeEvent(contents), { text: 'a', count: 1.5 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain('count');
  });
});

describe('registerValidatedHandler: failures stay typed', () => {
  it('passes a coded error (lower snake case) through to the renderer', async () => {
    const { call, handler, contents } = setup();
    handler.mockRejectedValueOnce(Object.assign(new Error('The model is still loading'), { code: 'busy' }));
    expect(await call(fakeInvokeEvent(contents), { text: 'a' })).toEqual({ ok: false, error: { code: 'busy', message: 'The model is still loading' } });
  });

  it('hides an uncoded error, a Node error and a thrown string behind `internal`, and logs them', async () => {
    const { call, handler, contents, log } = setup();
    const secret = new Error('/home/someone/.config/secret path');
    handler.mockRejectedValueOnce(secret);
    const first = await call(fakeInvokeEvent(contents), { text: 'a' });
    expectError(first, IPC_ERROR.internal);
    if (!first.ok) expect(first.error.message).not.toContain('secret');
    expect(log).toHaveBeenCalledWith('test:echo failed', secret);

    handler.mockRejectedValueOnce(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }));
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.internal);
    handler.mockImplementationOnce(() => {
      throw 'a string';
    });
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.internal);
  });

  it('does not let a handler claim `forbidden`', async () => {
    const { call, handler, contents } = setup();
    handler.mockRejectedValueOnce(Object.assign(new Error('nope'), { code: 'forbidden' }));
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.internal);
  });

  it('uses mapError when given, and falls back when it throws', async () => {
    const mapError = vi.fn((error: unknown) => (error instanceof RangeError ? { code: 'out_of_range', message: 'too far' } : undefined));
    const { call, handler, contents } = setup({ mapError });
    handler.mockRejectedValueOnce(new RangeError('x'));
    expect(await call(fakeInvokeEvent(contents), { text: 'a' })).toEqual({ ok: false, error: { code: 'out_of_range', message: 'too far' } });
    mapError.mockImplementationOnce(() => {
      throw new Error('broken mapper');
    });
    handler.mockRejectedValueOnce(new RangeError('x'));
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.internal);
  });

  it('reports a result that cannot be cloned, or breaks the result schema, as internal', async () => {
    const { call, handler, contents } = setup();
    handler.mockResolvedValueOnce({ echoed: (() => 1) as unknown as string });
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.internal);

    const withResult = setup({ result: z.object({ echoed: z.string().max(2) }) });
    expect(await withResult.call(fakeInvokeEvent(withResult.contents), { text: 'ab' })).toEqual({ ok: true, value: { echoed: 'ab' } });
    expectError(await withResult.call(fakeInvokeEvent(withResult.contents), { text: 'abc' }), IPC_ERROR.internal);
  });

  it('stays typed when the logger itself throws', async () => {
    const { call, handler, contents, log } = setup();
    log.mockImplementation(() => {
      throw new Error('log broke');
    });
    handler.mockRejectedValueOnce(new Error('x'));
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.internal);
    contents.mainFrame.url = 'https://evil.example/';
    expectError(await call(fakeInvokeEvent(contents), { text: 'a' }), IPC_ERROR.forbidden);
  });

  it('unregisters, and refuses bad channel names at registration', () => {
    const { ipcMain, unregister, trust } = setup();
    expect(ipcMain.handlers.has('test:echo')).toBe(true);
    unregister();
    expect(ipcMain.handlers.has('test:echo')).toBe(false);
    expect(() => registerValidatedHandler(ipcMain, '', z.unknown(), () => 1, trust)).toThrow(TypeError);
    expect(() => registerValidatedHandler(ipcMain, 'has space', z.unknown(), () => 1, trust)).toThrow(TypeError);
  });
});

describe('registerValidatedHandler: property-based', () => {
  const senders = ['good', 'other-origin', 'sub-frame', 'foreign-window', 'destroyed-frame', 'null-frame', 'throwing-frame'] as const;

  it('never rejects; every refusal is a typed error; success only for a good sender and a valid payload', async () => {
    const { call, contents, handler, trust } = setup();
    const foreign = fakeWebContents();
    expect(trust.has(foreign)).toBe(false);
    const eventFor = (kind: (typeof senders)[number]) => {
      contents.mainFrame.url = 'app://jielong/index.html';
      contents.mainFrame.destroyed = false;
      switch (kind) {
        case 'good':
          return fakeInvokeEvent(contents);
        case 'other-origin':
          contents.mainFrame.url = 'https://example.com/';
          return fakeInvokeEvent(contents);
        case 'sub-frame':
          return fakeInvokeEvent(contents, fakeFrame({ parent: contents.mainFrame }));
        case 'foreign-window':
          return fakeInvokeEvent(foreign);
        case 'destroyed-frame':
          contents.mainFrame.destroyed = true;
          return fakeInvokeEvent(contents);
        case 'null-frame':
          return fakeInvokeEvent(contents, null);
        case 'throwing-frame':
          return fakeInvokeEvent(
            contents,
            new Proxy(contents.mainFrame, {
              get() {
                throw new Error('disposed');
              },
            }),
          );
      }
    };
    const payload = fc.oneof(
      fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true }),
      fc.record({ text: fc.string({ maxLength: 14 }), count: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }) }, { requiredKeys: ['text'] }),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.anything()),
    );
    let successes = 0;
    let refusals = 0;
    await fc.assert(
      fc.asyncProperty(
        // Weighted so that both outcomes are common: a good sender with one well-formed payload
        // is rare among arbitrary values.
        fc.oneof({ arbitrary: fc.constant('good' as const), weight: 3 }, { arbitrary: fc.constantFrom(...senders), weight: 4 }),
        fc.oneof({ arbitrary: fc.tuple(payload), weight: 2 }, { arbitrary: fc.array(payload, { maxLength: 3 }), weight: 3 }),
        async (kind, args) => {
        handler.mockClear();
        let result: IpcResult<unknown>;
        try {
          result = await call(eventFor(kind), ...args);
        } catch (error) {
          throw new Error(`the handler rejected: ${String(error)}`);
        }
        const validPayload = args.length <= 1 && payloadSchema.safeParse(args[0]).success;
        if (result.ok) {
          expect(kind).toBe('good');
          expect(validPayload).toBe(true);
          expect(handler).toHaveBeenCalledTimes(1);
          successes += 1;
        } else {
          refusals += 1;
          expect(Object.keys(result).sort()).toEqual(['error', 'ok']);
          expect(Object.keys(result.error).sort()).toEqual(['code', 'message']);
          expect(typeof result.error.message).toBe('string');
          const expected = kind !== 'good' ? IPC_ERROR.forbidden : IPC_ERROR.invalidInput;
          expect(result.error.code).toBe(expected);
          expect(handler).not.toHaveBeenCalled();
        }
        // Whatever came back must itself cross the process boundary.
        expect(() => structuredClone(result)).not.toThrow();
        },
      ),
      { numRuns: 400 },
    );
    // Both branches of the property were exercised.
    expect(successes).toBeGreaterThan(0);
    expect(refusals).toBeGreaterThan(0);
  });
});

describe('sendToAppWindows', () => {
  const eventSchema = z.object({ progress: z.number().min(0).max(100) }).strict();

  it('sends only to our live windows that still show our origin', () => {
    const trust = new TrustedWindows();
    const ours = fakeWebContents();
    const navigatedAway = fakeWebContents(fakeFrame({ url: 'https://example.com/' }));
    const closed = fakeWebContents();
    const foreign = fakeWebContents();
    trust.add(ours);
    trust.add(navigatedAway);
    trust.add(closed);
    closed.destroyed = true;
    const result = sendToAppWindows(trust, 'test:progress', eventSchema, { progress: 50 }, { log: () => undefined });
    expect(result).toEqual({ ok: true, value: { delivered: 1 } });
    expect(ours.sent).toEqual([{ channel: 'test:progress', args: [{ progress: 50 }] }]);
    expect(navigatedAway.sent).toEqual([]);
    expect(closed.sent).toEqual([]);
    expect(foreign.sent).toEqual([]);
  });

  it('does not send a payload that breaks its schema, and survives a send that throws', () => {
    const trust = new TrustedWindows();
    const ours = fakeWebContents();
    trust.add(ours);
    const log = vi.fn();
    expectError(sendToAppWindows(trust, 'test:progress', eventSchema, { progress: 101 }, { log }), IPC_ERROR.invalidInput);
    expect(ours.sent).toEqual([]);
    ours.send = () => {
      throw new Error('render process gone');
    };
    expect(sendToAppWindows(trust, 'test:progress', eventSchema, { progress: 1 }, { log })).toEqual({ ok: true, value: { delivered: 0 } });
    expect(log).toHaveBeenCalled();
  });

  it('createEventSender can address one trusted window, and never an untrusted one', () => {
    const trust = new TrustedWindows();
    const a = fakeWebContents();
    const b = fakeWebContents();
    const foreign = fakeWebContents();
    trust.add(a);
    trust.add(b);
    const send = createEventSender(trust, 'test:progress', eventSchema);
    expect(send({ progress: 3 }, b)).toEqual({ ok: true, value: { delivered: 1 } });
    expect(a.sent).toEqual([]);
    expect(b.sent).toHaveLength(1);
    expect(send({ progress: 3 }, foreign)).toEqual({ ok: true, value: { delivered: 0 } });
    expect(foreign.sent).toEqual([]);
  });
});
