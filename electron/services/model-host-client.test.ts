// The model host as a real child process, driven through the client: streaming across the
// boundary, cancel, bad models and bad parameters, and the host killed mid-answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR, makeBadModelFolders, type BadModelFolder } from '../../scripts/testing/model-fixtures.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import type { ChatMessage, HostEventOf, SeededSamplingParams } from '../shared/model-host-protocol.ts';
import { ModelHostClient } from './model-host-client.ts';
import { nodeHostSpawner } from './node-host-process.ts';

const params: SeededSamplingParams = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0, repetitionPenalty: 1.1, maxNewTokens: 400, seed: 7 };
const messages: ChatMessage[] = [{ role: 'user', content: '讲一个关于龙的故事。Tell me about dragons.' }];
const demo = { modelDir: DEMO_MODEL_DIR, dtype: 'fp32' as const };

async function expectHostError(promise: Promise<unknown>): Promise<ModelHostError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelHostError);
  return error as ModelHostError;
}

describe('ModelHostClient with a real host process', () => {
  const client = new ModelHostClient(nodeHostSpawner());
  let bad: Awaited<ReturnType<typeof makeBadModelFolders>>;

  beforeAll(async () => {
    bad = await makeBadModelFolders();
    await client.start();
  });
  afterAll(async () => {
    client.stop();
    await bad.cleanup();
  });

  it('loads the demo model with progress and streams tokens before the answer is done', async () => {
    const info = await client.load(demo);
    expect(info.vocabSize).toBeGreaterThan(256);
    expect(client.loaded?.modelDir).toBe(DEMO_MODEL_DIR);
    const tokens: HostEventOf<'token'>[] = [];
    let doneSeen = false;
    let tokensBeforeDone = 0;
    const generation = client.generate({ messages, params: { ...params, maxNewTokens: 30 }, candidates: 3, onToken: (t) => tokens.push(t) });
    void generation.done.then(() => (doneSeen = true));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (tokens.length > 0) {
          tokensBeforeDone = doneSeen ? 0 : tokens.length;
          clearInterval(poll);
          resolve();
        }
      }, 1);
    });
    const stats = await generation.done;
    expect(tokensBeforeDone).toBeGreaterThan(0);
    expect(stats.decodeTokens).toBe(tokens.length);
    expect(tokens[0]!.candidates?.length).toBe(3);
  });

  // The loop checks for a cancel between every two tokens (engine.test.ts pins that down in
  // one process). Across processes the host makes a token in well under a millisecond, so it
  // runs ahead of the client by however long the message takes to travel; to measure only
  // what the host does once the cancel has reached it, the test freezes the host (SIGSTOP),
  // lets every token already sent arrive, queues the cancel, and thaws it: at most the token
  // that was being computed may follow. Seed 9 runs to maxNewTokens, so the answer cannot
  // end by itself before or after the cancel: the first run below proves it.
  it('cancel stops the answer as cancelled within one token of reaching the host', async () => {
    await client.load(demo);
    const long: SeededSamplingParams = { ...params, seed: 9, maxNewTokens: 1900 };
    const full = await client.generate({ messages, params: long }).done;
    expect(full.stopReason).toBe('max_tokens');
    expect(full.decodeTokens).toBe(1900);

    const pid = client.pid!;
    const tokens: HostEventOf<'token'>[] = [];
    let frozen!: () => void;
    const firstToken = new Promise<void>((resolve) => (frozen = resolve));
    const generation = client.generate({
      messages,
      params: long,
      onToken: (t) => {
        tokens.push(t);
        if (tokens.length === 1) {
          process.kill(pid, 'SIGSTOP');
          frozen();
        }
      },
    });
    try {
      await firstToken;
      // Wait until the tokens the host sent before it froze have all arrived (none for 200 ms).
      let last = -1;
      while (tokens.length !== last) {
        last = tokens.length;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(tokens.length).toBeLessThan(long.maxNewTokens);
      generation.cancel();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const cancelledAt = tokens.length;
    const stats = await generation.done;
    expect(stats.stopReason).toBe('cancelled');
    expect(tokens.length - cancelledAt).toBeLessThanOrEqual(1);
    expect(stats.decodeTokens).toBe(tokens.length);
  });

  it.each([
    ['negative temperature', { ...params, temperature: -1 }, /temperature/],
    ['top_p above 1', { ...params, topP: 1.5 }, /topP/],
    ['top_p of 0', { ...params, topP: 0 }, /topP/],
    ['max tokens below 1', { ...params, maxNewTokens: 0 }, /maxNewTokens/],
    ['an unknown field', { ...params, top_p: 0.5 } as SeededSamplingParams, /unknown field.*top_p/],
    ['no seed (the caller picks it, once)', (({ seed: _seed, ...rest }) => rest)(params) as SeededSamplingParams, /seed/],
  ])('refuses %s with a clear error', async (_name, bad, message) => {
    const error = await expectHostError(client.generate({ messages, params: bad }).done);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(message);
  });

  it('the host itself refuses malformed requests that bypass the client', async () => {
    const pid = client.pid;
    const raw = (client as unknown as { process: { send(m: unknown): void; onMessage(l: (m: unknown) => void): void } }).process;
    const reply = new Promise<unknown>((resolve) => raw.onMessage((m) => (m as { requestId?: string }).requestId === 'raw-1' && resolve(m)));
    raw.send({ type: 'generate', requestId: 'raw-1', messages, params: { ...params, temperature: 'hot' } });
    expect(await reply).toMatchObject({ type: 'error', code: 'invalid_request', message: expect.stringMatching(/temperature/) });
    expect(client.pid).toBe(pid);
  });

  describe('bad models', () => {
    // Filled in beforeAll; it.each needs names up front.
    const names = ['missing-onnx', 'truncated-onnx', 'garbage-onnx', 'lfs-pointer', 'missing-tokenizer', 'missing-tokenizer-config', 'layer-mismatch', 'missing-external-data', 'encoder-decoder-graph', 'broken-chat-template', 'no-chat-template'];
    it.each(names)('%s: a typed error within 10 s, and the host stays usable', async (name) => {
      const folder = bad.folders.find((f) => f.name === name) as BadModelFolder;
      const started = performance.now();
      const error = await expectHostError(client.load({ modelDir: folder.dir, dtype: 'fp32' }));
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(['model_invalid', 'load_failed', 'no_chat_template']).toContain(error.code);
      expect(error.message).toMatch(folder.expect);
      await client.load(demo);
      const stats = await client.generate({ messages, params: { ...params, maxNewTokens: 4 } }).done;
      expect(stats.decodeTokens).toBeGreaterThan(0);
    });

    it('a folder that does not exist', async () => {
      const error = await expectHostError(client.load({ modelDir: '/nonexistent/jielong-model', dtype: 'fp32' }));
      expect(error.code).toBe('model_not_found');
    });

    it('a dtype the folder does not have', async () => {
      const error = await expectHostError(client.load({ ...demo, dtype: 'q4' }));
      expect(error.message).toMatch(/no q4 weights: onnx\/model_q4\.onnx is missing/);
    });
  });

  it('killing the host mid-answer fails the request as host_exited after the tokens so far, and a restarted host answers', async () => {
    await client.load(demo);
    let received = '';
    let count = 0;
    const exits: ModelHostError[] = [];
    const off = client.onUnexpectedExit((e) => exits.push(e));
    const pid = client.pid!;
    const generation = client.generate({
      messages,
      params: { ...params, minP: 0, maxNewTokens: 400 },
      onToken: (t) => {
        received += t.text;
        if (++count === 8) process.kill(pid, 'SIGKILL');
      },
    });
    const error = await expectHostError(generation.done);
    off();
    expect(error.code).toBe('host_exited');
    // The text so far is the caller's: it was streamed token by token (the chat service keeps it as interrupted).
    expect(received.length).toBeGreaterThan(0);
    expect(count).toBeGreaterThanOrEqual(8);
    expect(exits).toHaveLength(1);
    expect(client.loaded).toBeNull();

    const newPid = await client.restart();
    expect(newPid).not.toBe(pid);
    await client.load(demo);
    const stats = await client.generate({ messages, params: { ...params, maxNewTokens: 5 } }).done;
    expect(stats.decodeTokens).toBeGreaterThan(0);
  });

  it('unload frees the model; generating then says no model is loaded', async () => {
    await client.load(demo);
    await client.unload();
    const error = await expectHostError(client.generate({ messages, params }).done);
    expect(error.code).toBe('not_loaded');
  });
});
