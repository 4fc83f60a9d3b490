// The OpenAI-compatible API from the user's side: turned on in the settings, a key made and
// shown once, the request log filling in; a web page of another origin, in a real browser,
// cannot call it (its preflight is refused, and a no-cors POST starts nothing); and the other
// direction: a remote model (another Jielong's API) added in the picker answers the chat.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { createAppServices } from '../electron/services/app-services.ts';
import { expect, screenshot, test } from './support/fixtures.ts';
import { scriptedSpawner } from './support/scripted-host.ts';
import { DEMO_MODEL_DIR } from './support/test-host.ts';

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test.describe('the OpenAI-compatible API', () => {
  test.use({ hostOptions: { scripted: { answer: () => 'Hello from the scripted model, word by word.', batchDelayMs: 5 } } });

  test('is turned on in the settings, its key is shown once, and its requests are logged', async ({ app, host }, testInfo) => {
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
    await section.scrollIntoViewIfNeeded();
    await screenshot(app, testInfo, 'settings-api');

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

test.describe('a remote model', () => {
  test.use({ hostOptions: { scripted: { answer: () => 'A local answer.', batchDelayMs: 5 } } });

  test('is added with a connection test, marked remote in the picker, and answers the chat', async ({ app, host }, testInfo) => {
    // Another Jielong, serving its model over the API: the remote engine.
    const root = mkdtempSync(path.join(os.tmpdir(), 'jielong-e2e-remote-'));
    // The tiny model alone, so the server offers one model.
    const remoteModels = path.join(root, 'models');
    cpSync(DEMO_MODEL_DIR, path.join(remoteModels, 'jielong-tiny-random'), { recursive: true });
    const remote = createAppServices({ dataDir: path.join(root, 'data'), bundledModelsDir: remoteModels, spawnHost: scriptedSpawner({ answer: () => 'Written far away, on the other server.', batchDelayMs: 5 }) });
    try {
      await remote.models.load('jielong-tiny-random');
      const { baseUrl, key } = await remote.openai.startForThisRun({ port: 0, allowNetwork: false });

      await app.getByTestId('model-button').click();
      const picker = app.getByTestId('model-picker');
      await picker.getByTestId('add-remote').click();
      await picker.getByTestId('remote-base-url').fill(baseUrl);
      await picker.getByTestId('remote-api-key').fill('jl-wrong-key');
      await picker.getByTestId('remote-test').click();
      await expect(picker.getByRole('alert')).toContainText('refused the API key (401)');
      await picker.getByTestId('remote-api-key').fill(key);
      await picker.getByTestId('remote-test').click();
      await expect(picker.getByTestId('remote-offered')).toHaveText('The server offers: jielong-tiny-random');
      await expect(picker.getByTestId('remote-model-id')).toHaveValue('jielong-tiny-random');
      await picker.getByTestId('remote-add').click();

      const row = picker.getByTestId('remote-models').locator('li');
      await expect(row).toHaveCount(1);
      await expect(row).toContainText('Remote');
      await expect(row).toContainText('with an API key');
      await screenshot(app, testInfo, 'model-picker-remote');
      await row.getByTestId('use-remote').click();
      await expect(row).toContainText('Loaded');
      await app.keyboard.press('Escape');
      await expect(app.getByTestId('model-button')).toContainText(`jielong-tiny-random (${new URL(baseUrl).host})`);

      await app.getByTestId('token-view-toggle').click();
      const composer = app.getByTestId('composer');
      await composer.fill('Hello, far away');
      await composer.press('Enter');
      await expect(app.locator('[data-status="complete"]').last()).toContainText('Written far away, on the other server.', { timeout: 20_000 });
      const stored = host.services.storage.listConversations().items;
      expect(stored).toHaveLength(1);
      const messages = host.services.storage.loadActivePath(stored[0]!.id).messages;
      expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: 'Written far away, on the other server.', status: 'complete' });
      // The token view shows the server's own probabilities.
      await app.getByTestId('token-view').last().locator('.tok:not(.tok-cont)').nth(2).hover();
      await expect(app.getByTestId('candidates').locator('.bars li')).toHaveCount(5);
      await expect(app.getByTestId('candidates')).toContainText(/probability \d+(\.\d)?%/);
    } finally {
      await remote.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

test.describe('a remote model without logprobs', () => {
  test.use({ hostOptions: { scripted: { answer: () => 'A local answer.', batchDelayMs: 5 } } });

  test('the token view says the server sent no probabilities', async ({ app }) => {
    // A plain OpenAI-compatible server that streams text and never sends logprobs.
    const plain: Server = createServer((request, response) => {
      if (request.url === '/v1/models') return void response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"object":"list","data":[{"id":"plain-model"}]}');
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'Content-Type': 'text/event-stream' });
        for (const piece of ['No ', 'numbers ', 'here.']) response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
        response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
        response.end();
      });
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      await app.getByTestId('model-button').click();
      const picker = app.getByTestId('model-picker');
      await picker.getByTestId('add-remote').click();
      await picker.getByTestId('remote-base-url').fill(`http://127.0.0.1:${(plain.address() as { port: number }).port}/v1`);
      await picker.getByTestId('remote-model-id').fill('plain-model');
      await picker.getByTestId('remote-add').click();
      const row = picker.getByTestId('remote-models').locator('li');
      await expect(row).toContainText('no API key');
      await row.getByTestId('use-remote').click();
      await expect(row).toContainText('Loaded');
      await app.keyboard.press('Escape');

      await app.getByTestId('token-view-toggle').click();
      await app.getByTestId('composer').fill('Say something');
      await app.getByTestId('composer').press('Enter');
      const tokens = app.getByTestId('token-view').last().locator('.tok:not(.tok-cont)');
      await expect(tokens).toHaveCount(3);
      await tokens.nth(1).hover();
      await expect(app.getByTestId('candidates')).toContainText('The remote server sent no probabilities (logprobs) for this answer.');
      await expect(app.getByTestId('candidates')).not.toContainText('probability');
    } finally {
      plain.closeAllConnections();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });
});
