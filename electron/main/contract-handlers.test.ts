import { describe, expect, it, vi } from 'vitest';
import { EventBus } from '../services/event-bus.ts';
import { CALL_NAMES, type CallResult } from '../shared/contract.ts';
import { registerContractHandlers } from './contract-handlers.ts';
import { IPC_ERROR, TrustedWindows } from './ipc-validation.ts';
import { FakeIpcMain, fakeInvokeEvent, fakeWebContents } from './test-fakes.ts';

function setup(dispatch = vi.fn(async (_name: unknown, _input: unknown): Promise<CallResult<unknown>> => ({ ok: true, value: 'done' }))) {
  const ipcMain = new FakeIpcMain();
  const trust = new TrustedWindows();
  const contents = fakeWebContents();
  trust.add(contents);
  const events = new EventBus();
  const unregister = registerContractHandlers({ ipcMain, trust, services: { dispatch, events }, log: () => undefined });
  return { ipcMain, trust, contents, events, dispatch, unregister };
}

describe('registerContractHandlers', () => {
  it('registers exactly one handler per contract call, and removes them all', () => {
    const { ipcMain, unregister, events, contents } = setup();
    expect([...ipcMain.handlers.keys()].sort()).toEqual([...CALL_NAMES].sort());
    // Before: an event reaches our window.
    events.emit('models.progress', { modelId: 'm', file: 'f', progress: 1 });
    expect(contents.sent).toHaveLength(1);
    unregister();
    expect(ipcMain.handlers.size).toBe(0);
    // The event subscription is gone too: emitting reaches no window.
    events.emit('models.progress', { modelId: 'm', file: 'f', progress: 2 });
    expect(contents.sent).toEqual([{ channel: 'models.progress', args: [{ modelId: 'm', file: 'f', progress: 1 }] }]);
  });

  it('passes a valid call to the dispatch and answers its value', async () => {
    const { ipcMain, contents, dispatch } = setup();
    expect(await ipcMain.invoke('conversations.rename', fakeInvokeEvent(contents), { id: 'c1', title: ' New title ' })).toEqual({ ok: true, value: 'done' });
    expect(dispatch).toHaveBeenCalledWith('conversations.rename', { id: 'c1', title: 'New title' });
  });

  it('treats a call without input as {} (as the dispatch and the browser host do)', async () => {
    const { ipcMain, contents, dispatch } = setup();
    expect(await ipcMain.invoke('models.list', fakeInvokeEvent(contents))).toEqual({ ok: true, value: 'done' });
    expect(dispatch).toHaveBeenCalledWith('models.list', {});
  });

  it('refuses invalid input with the contract code before the dispatch runs', async () => {
    const { ipcMain, contents, dispatch } = setup();
    const result = (await ipcMain.invoke('conversations.rename', fakeInvokeEvent(contents), { id: 'c1', title: '' })) as CallResult<unknown>;
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('refuses a foreign window before the dispatch runs', async () => {
    const { ipcMain, dispatch } = setup();
    const result = await ipcMain.invoke('models.list', fakeInvokeEvent(fakeWebContents()), {});
    expect(result).toMatchObject({ ok: false, error: { code: IPC_ERROR.forbidden } });
    expect(dispatch).not.toHaveBeenCalled();
  });

  it("passes the dispatch's own error codes through unchanged", async () => {
    const dispatch = vi.fn(async (): Promise<CallResult<unknown>> => ({ ok: false, error: { code: 'not_found', message: 'No conversation c9' } }));
    const { ipcMain, contents } = setup(dispatch);
    expect(await ipcMain.invoke('conversations.delete', fakeInvokeEvent(contents), { id: 'c9' })).toEqual({ ok: false, error: { code: 'not_found', message: 'No conversation c9' } });
    dispatch.mockResolvedValueOnce({ ok: false, error: { code: 'internal', message: 'disk full' } });
    expect(await ipcMain.invoke('conversations.delete', fakeInvokeEvent(contents), { id: 'c9' })).toEqual({ ok: false, error: { code: 'internal', message: 'disk full' } });
  });

  it("forwards the services' events to our windows, checked against the contract", () => {
    const { events, contents } = setup();
    const foreign = fakeWebContents();
    events.emit('models.progress', { modelId: 'tiny', file: 'onnx/model.onnx', progress: 40 });
    expect(contents.sent).toEqual([{ channel: 'models.progress', args: [{ modelId: 'tiny', file: 'onnx/model.onnx', progress: 40 }] }]);
    expect(foreign.sent).toEqual([]);
    // A payload that breaks the contract is not sent.
    events.emit('models.progress', { modelId: 'tiny' } as never);
    expect(contents.sent).toHaveLength(1);
  });
});
