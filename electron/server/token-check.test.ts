// GET /token-check: a tab left open across a restart asks whether its token is this run's,
// so it can say its address is out of date instead of retrying forever.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventBus } from '../services/event-bus.ts';
import { startBrowserHost } from './browser-host.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'jielong-token-check-'));
writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Jielong</title>');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the token check', () => {
  it('answers 204 for this run’s token, 401 for any other, and only to an allowed Host', async () => {
    const token = 'a'.repeat(43);
    const host = await startBrowserHost({ dispatch: async () => ({ ok: true, value: null }), events: new EventBus(), rendererDir: dir, port: 0, token });
    try {
      const origin = `http://127.0.0.1:${host.port}`;
      const check = (given: string, headers: Record<string, string> = {}) => fetch(`${origin}/token-check`, { headers: { 'X-Jielong-Token': given, ...headers } }).then((r) => r.status);
      expect(await check(token)).toBe(204);
      expect(await check('b'.repeat(43))).toBe(401);
      expect(await check('')).toBe(401);
      // A page of another site cannot use it as an oracle through DNS rebinding: not answered.
      const rebinding = await new Promise<number>((resolve, reject) => {
        import('node:http')
          .then(({ request }) => {
            const req = request({ host: '127.0.0.1', port: host.port, path: '/token-check', headers: { host: 'evil.example', 'x-jielong-token': token } }, (res) => resolve(res.statusCode ?? 0));
            req.on('error', reject);
            req.end();
          })
          .catch(reject);
      });
      expect(rebinding).not.toBe(204);
    } finally {
      await host.close();
    }
  });
});
