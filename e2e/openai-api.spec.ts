// The OpenAI-compatible API from the user's side: turned on in the settings, a key made and
// shown once, the request log filling in; and a web page of another origin, in a real
// browser, cannot call it (its preflight is refused, and a no-cors POST starts nothing).
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import OpenAI from 'openai';
import { expect, test } from './support/fixtures.ts';

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test.describe('the OpenAI-compatible API', () => {
  test.use({ hostOptions: { scripted: { answer: () => 'Hello from the scripted model, word by word.', batchDelayMs: 5 } } });

  test('is turned on in the settings, its key is shown once, and its requests are logged', async ({ app, host }) => {
    const port = await freePort();
    await app.getByTestId('open-settings').click();
    const section = app.getByTestId('settings-api');
    await expect(section.getByTestId('api-status')).toHaveText('Not running.');
    await section.getByTestId('api-port').fill(String(port));
    await section.getByTestId('api-port').press('Tab');
    await section.getByTestId('api-enabled').check();
    const baseUrl = `http://127.0.0.1:${port}/v1`;
    await expect(section.getByTestId('api-status')).toContainText(`Running at ${baseUrl}`);

    await section.getByTestId('api-new-key').click();
    const key = await section.getByTestId('api-key-once').inputValue();
    expect(key).toMatch(/^jl-/);
    const client = new OpenAI({ baseURL: baseUrl, apiKey: key, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'jielong-tiny-random', messages: [{ role: 'user', content: 'Hi' }] });
    expect(answer.choices[0]!.message.content).toBe('Hello from the scripted model, word by word.');
    await expect(section.getByTestId('api-log').locator('tbody tr').first()).toContainText('jielong-tiny-random');
    await expect(section.getByTestId('api-log').locator('tbody tr').first()).toContainText('200');

    // The key is not shown again after the settings are reopened.
    await app.reload();
    await app.getByTestId('open-settings').click();
    await expect(app.getByTestId('settings-api').getByTestId('api-key-once')).toHaveCount(0);
    await expect(app.getByTestId('settings-api')).toContainText('A key is set');
    expect(JSON.stringify(host.services.settings.get())).not.toContain(key);
  });

  test('a web page of another origin cannot call it', async ({ page, host }) => {
    const { baseUrl, key } = await host.services.openai.startForThisRun({ port: 0, allowNetwork: false });
    // Another site, on this machine: its page tries the API with the key it somehow has.
    const site: Server = createServer((_request, response) => response.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>another site</title>'));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const sitePort = (site.address() as { port: number }).port;
    try {
      await page.goto(`http://localhost:${sitePort}/`);
      const results = await page.evaluate(
        async ({ baseUrl, key }) => {
          const attempt = async (run: () => Promise<Response>): Promise<string> => {
            try {
              const response = await run();
              return `answered ${response.type} ${response.status}`;
            } catch (error) {
              return `failed: ${(error as Error).name}`;
            }
          };
          const body = JSON.stringify({ model: 'jielong-tiny-random', messages: [{ role: 'user', content: 'from another site' }] });
          return {
            models: await attempt(() => fetch(`${baseUrl}/models`, { headers: { Authorization: `Bearer ${key}` } })),
            chat: await attempt(() => fetch(`${baseUrl}/chat/completions`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body })),
            simple: await attempt(() => fetch(`${baseUrl}/chat/completions`, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body })),
          };
        },
        { baseUrl, key },
      );
      expect(results.models).toBe('failed: TypeError');
      expect(results.chat).toBe('failed: TypeError');
      // An opaque answer: the page learns nothing, and the server refused it before generating.
      expect(results.simple).toBe('answered opaque 0');
      const log = host.services.openai.status().log;
      expect(log.length).toBeGreaterThanOrEqual(2);
      for (const entry of log) expect(entry.status).toBe(403);
      expect(host.services.openai.busy).toBe(false);
    } finally {
      await new Promise<void>((resolve) => site.close(() => resolve()));
    }
  });
});
