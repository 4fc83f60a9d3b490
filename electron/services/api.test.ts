// Every call refuses malformed input with a typed error and nothing ever throws past the
// dispatch: a property-based fuzz over the whole contract.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_NAMES } from '../shared/contract.ts';
import { anyCallInput, startFuzzServices, type FuzzServices } from '../test-support/call-fuzz.ts';
import type { AppServices } from './app-services.ts';

const KNOWN_CODES = /^[a-z_]+$/;

describe('dispatch', () => {
  let fuzz: FuzzServices;
  let app: AppServices;

  beforeAll(async () => {
    fuzz = await startFuzzServices();
    app = fuzz.services;
  });
  afterAll(() => fuzz.close());

  it('answers every call, valid or not, with a CallResult and a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CALL_NAMES), anyCallInput, async (name, input) => {
        const result = await app.dispatch(name, input);
        expect(typeof result.ok).toBe('boolean');
        // A failure has a lower_snake code and a message.
        expect(result.ok || (KNOWN_CODES.test(result.error.code) && result.error.message.length > 0), JSON.stringify(result).slice(0, 300)).toBe(true);
      }),
      { numRuns: 1500 },
    );
    expect(fuzz.spawned()).toBe(0);
  });

  it('refuses unknown calls and names the problem in malformed input', async () => {
    expect(await app.dispatch('conversations.drop', {})).toMatchObject({ ok: false, error: { code: 'unknown_call' } });
    expect(await app.dispatch(42, {})).toMatchObject({ ok: false, error: { code: 'unknown_call' } });
    expect(await app.dispatch('__proto__', {})).toMatchObject({ ok: false, error: { code: 'unknown_call' } });
    expect(await app.dispatch('conversations.rename', { id: 'x', title: '' })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/title/) } });
    expect(await app.dispatch('conversations.rename', { id: 'x', title: 'ok', extra: 1 })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/unknown field extra/) } });
    expect(await app.dispatch('chat.send', { conversationId: 'x', content: '   ' })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/empty/) } });
    expect(await app.dispatch('conversations.updateSettings', { id: 'x', sampling: { temperature: -1 } })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/temperature/) } });
    expect(await app.dispatch('conversations.rename', { id: 'missing', title: 'ok' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await app.dispatch('conversations.importJson', { text: '{"format":"nope"}' })).toMatchObject({ ok: false, error: { code: 'import_malformed' } });
  });

  it('settings round-trip and refuse bad values', async () => {
    const updated = await app.dispatch('settings.update', { theme: 'dark', language: 'zh-CN' });
    expect(updated).toMatchObject({ ok: true, value: { theme: 'dark', language: 'zh-CN' } });
    expect(await app.dispatch('settings.update', { theme: 'purple' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await app.dispatch('settings.get', {})).toMatchObject({ ok: true, value: { theme: 'dark' } });
  });

  it('refuses bad API settings naming the field', async () => {
    const api = { enabled: false, port: 5859, allowNetwork: false, keyHash: null, corsOrigins: [], storeConversations: false };
    expect(await app.dispatch('settings.update', { api: { ...api, port: 0 } })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/api\.port: the API port must be 1 to 65535/) } });
    expect(await app.dispatch('settings.update', { api: { ...api, corsOrigins: ['https://example.com/path'] } })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/api\.corsOrigins\.0: a CORS origin/) } });
    expect(await app.dispatch('settings.update', { api: { ...api, extra: true } })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/unknown field extra in api/) } });
    expect(await app.dispatch('api.newKey', { length: 10 })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });
});
