import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../services/event-bus.ts';
import { CALL_NAMES, calls, type CallName, type CallResult } from '../shared/contract.ts';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../shared/ipc-channels.ts';
import { anyCallInput, startFuzzServices, type FuzzServices } from '../test-support/call-fuzz.ts';
import { FakeIpcMain, fakeFrame, fakeInvokeEvent, fakeWebContents, type FakeWebContents } from '../test-support/main/electron-fakes.ts';
import { FORBIDDEN, registerCallChannel } from './call-channel.ts';
import { TrustedWindows } from './sender-check.ts';

function setup(dispatch = vi.fn(async (_name: unknown, _input: unknown): Promise<CallResult<unknown>> => ({ ok: true, value: 'done' }))) {
  const ipcMain = new FakeIpcMain();
  const trust = new TrustedWindows();
  const contents = fakeWebContents();
  trust.add(contents);
  const events = new EventBus();
  const log = vi.fn();
  const unregister = registerCallChannel({ ipcMain, trust, services: { dispatch, events }, log });
  const call = (sender: FakeWebContents, ...args: unknown[]) => ipcMain.invoke(CALL_CHANNEL, fakeInvokeEvent(sender), ...args);
  return { ipcMain, trust, contents, events, dispatch, log, unregister, call };
}

describe('registerCallChannel', () => {
  it('registers one handler for every call, and removes it and the event subscription', () => {
    const { ipcMain, unregister, events, contents } = setup();
    expect([...ipcMain.handlers.keys()]).toEqual([CALL_CHANNEL]);
    events.emit('models.progress', { modelId: 'm', file: 'f', progress: 1 });
    expect(contents.sent).toHaveLength(1);
    unregister();
    expect(ipcMain.handlers.size).toBe(0);
    events.emit('models.progress', { modelId: 'm', file: 'f', progress: 2 });
    expect(contents.sent).toHaveLength(1);
  });

  it("hands name and input to the dispatch as they came and answers the dispatch's own result object", async () => {
    const answer: CallResult<unknown> = { ok: false, error: { code: 'not_found', message: 'No conversation c9' } };
    const { call, contents, dispatch } = setup(vi.fn(async () => answer));
    expect(await call(contents, 'conversations.rename', { id: 'c9', title: ' New title ' })).toBe(answer);
    expect(dispatch).toHaveBeenCalledExactlyOnceWith('conversations.rename', { id: 'c9', title: ' New title ' });
  });

  it('refuses a foreign window before the dispatch runs, and logs why', async () => {
    const { call, dispatch, log } = setup();
    expect(await call(fakeWebContents(), 'models.list', {})).toEqual(FORBIDDEN);
    expect(dispatch).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalledWith(expect.stringContaining('not a window Jielong created'), undefined);
  });

  it('refuses anything but (name, input) before the dispatch runs', async () => {
    const { call, contents, dispatch } = setup();
    for (const args of [[], ['models.list'], ['models.list', {}, 'extra']]) {
      expect(await call(contents, ...args)).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining(`${args.length} arguments`) } });
    }
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('pushes every event on the one event channel to our live windows that show our page, and only to them', () => {
    const { trust, events, contents } = setup();
    const navigatedAway = fakeWebContents(fakeFrame({ url: 'https://example.com/' }));
    const closed = fakeWebContents();
    const broken = fakeWebContents();
    const foreign = fakeWebContents();
    for (const window of [navigatedAway, closed, broken]) trust.add(window);
    closed.destroyed = true;
    broken.send = () => {
      throw new Error('render process gone');
    };
    const token = { conversationId: 'c1', messageId: 'm1', text: ' the', tokenId: 262, probability: 0.4 };
    events.emit('generation.token', token);
    events.emit('conversations.changed', { conversationId: 'c1', reason: 'messages' });
    expect(contents.sent).toEqual([
      { channel: EVENT_CHANNEL, args: ['generation.token', token] },
      { channel: EVENT_CHANNEL, args: ['conversations.changed', { conversationId: 'c1', reason: 'messages' }] },
    ]);
    // The payload crosses as the service emitted it: no copy, no second parse.
    expect(contents.sent[0]!.args[1]).toBe(token);
    for (const window of [navigatedAway, closed, foreign]) expect(window.sent).toEqual([]);
  });

  it('stops pushing to a window once it shows another page, and resumes when it shows ours again', () => {
    const { events, contents } = setup();
    const progress = (value: number) => ({ modelId: 'm', file: 'f', progress: value });
    events.emit('models.progress', progress(1));
    contents.mainFrame.url = 'https://example.com/';
    events.emit('models.progress', progress(2));
    contents.mainFrame.url = 'app://jielong/index.html';
    events.emit('models.progress', progress(3));
    expect(contents.sent.map(({ args }) => args[1])).toEqual([progress(1), progress(3)]);
  });
});

describe('the call channel, fuzzed over every call with the real services', () => {
  let fuzz: FuzzServices;
  beforeAll(async () => {
    fuzz = await startFuzzServices();
  });
  afterAll(() => fuzz.close());

  const senders = ['good', 'other-origin', 'sub-frame', 'foreign-window', 'destroyed-frame', 'null-frame', 'throwing-frame'] as const;

  it('never rejects; answers a cloneable CallResult; refuses a bad sender, a bad shape, an unknown call and bad input with their codes', async () => {
    const ipcMain = new FakeIpcMain();
    const trust = new TrustedWindows();
    const contents = fakeWebContents();
    const foreign = fakeWebContents();
    trust.add(contents);
    registerCallChannel({ ipcMain, trust, services: fuzz.services, log: () => undefined });
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
    /** What the channel must refuse the call with, from the sender, the arguments and the contract; null: it reaches the services. */
    const expectedRefusal = (kind: (typeof senders)[number], args: unknown[]): string | null => {
      if (kind !== 'good') return 'forbidden';
      if (args.length !== 2) return 'invalid_input';
      const [name, input] = args;
      if (typeof name !== 'string' || !Object.hasOwn(calls, name)) return 'unknown_call';
      return calls[name as CallName].safeParse(input ?? {}).success ? null : 'invalid_input';
    };
    const name = fc.oneof({ arbitrary: fc.constantFrom(...CALL_NAMES), weight: 6 }, { arbitrary: fc.oneof(fc.string(), fc.anything()), weight: 1 });
    const args = fc.oneof({ arbitrary: fc.tuple(name, anyCallInput), weight: 6 }, { arbitrary: fc.array(fc.anything(), { maxLength: 3 }), weight: 1 });
    const tally = { reachedServices: 0, refused: 0, succeeded: 0 };
    await fc.assert(
      fc.asyncProperty(fc.oneof({ arbitrary: fc.constant('good' as const), weight: 3 }, { arbitrary: fc.constantFrom(...senders), weight: 1 }), args, async (kind, callArgs) => {
        const result = (await ipcMain.invoke(CALL_CHANNEL, eventFor(kind), ...callArgs)) as CallResult<unknown>;
        // Exactly the dispatch's shape: { ok, value } or { ok, error: { code, message } }.
        expect(Object.keys(result).sort()).toEqual(result.ok ? ['ok', 'value'] : ['error', 'ok']);
        const code = result.ok ? null : result.error.code;
        expect(result.ok || (/^[a-z_]+$/.test(result.error.code) && result.error.message.length > 0)).toBe(true);
        // Electron clones the answer on its way to the renderer: it must survive that.
        expect(() => structuredClone(result)).not.toThrow();
        const refusal = expectedRefusal(kind, callArgs);
        expect(refusal === null || code === refusal, `${kind} ${typeof callArgs[0] === 'string' ? callArgs[0] : typeof callArgs[0]}: expected ${refusal}, got ${JSON.stringify(result).slice(0, 300)}`).toBe(true);
        tally.reachedServices += refusal === null ? 1 : 0;
        tally.refused += refusal === null ? 0 : 1;
        tally.succeeded += result.ok ? 1 : 0;
      }),
      { numRuns: 600 },
    );
    // Every branch was exercised, and nothing started a model host.
    expect(tally.reachedServices).toBeGreaterThan(0);
    expect(tally.refused).toBeGreaterThan(0);
    expect(tally.succeeded).toBeGreaterThan(0);
    expect(fuzz.spawned()).toBe(0);
  });
});
