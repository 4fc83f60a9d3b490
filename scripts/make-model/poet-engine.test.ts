// The committed Jielong Poet model run by the app's engine, in this process: it loads fast,
// answers a seeded prompt as it did when it was committed, streams Chinese verse, and is sure
// of what it has learned: a word of a famous line, and where a line ends.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../electron/model-host/engine.ts';
import type { ChatMessage, HostEventOf } from '../../electron/shared/model-host-protocol.ts';
import { POET_SPECIAL } from './poet-tokenizer.ts';

const POET_DIR = fileURLToPath(new URL('../../resources/models/jielong-poet', import.meta.url));
const recommended = JSON.parse(readFileSync(path.join(POET_DIR, 'generation_config.json'), 'utf8')) as { temperature: number; top_k: number; top_p: number; max_new_tokens: number };
const SAMPLED = { temperature: recommended.temperature, topK: recommended.top_k, topP: recommended.top_p, minP: 0, repetitionPenalty: 1, maxNewTokens: recommended.max_new_tokens };
const GREEDY = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 1 };
/** Chinese characters, the poems' punctuation and book-title marks, nothing else. */
const VERSE = /^[\p{Script=Han}，。？！；《》]+$/u;

type TokenEvent = Omit<HostEventOf<'token'>, 'type' | 'requestId'>;

async function answer(engine: Engine, prompt: string, params: typeof SAMPLED & { seed: number }, candidates = 0): Promise<TokenEvent[]> {
  const tokens: TokenEvent[] = [];
  const messages: ChatMessage[] = [{ role: 'user', content: prompt }];
  await engine.generate({ requestId: 'poet', messages, params, candidates, reuseCache: false }, { onPrefill: () => undefined, onToken: (event) => tokens.push(event), isCancelled: () => false });
  return tokens;
}

describe('Engine on the committed Jielong Poet', () => {
  let engine: Engine;
  let loadMs: number;

  beforeAll(async () => {
    engine = new Engine();
    const started = performance.now();
    await engine.load({ modelDir: POET_DIR, dtype: 'fp32', device: 'cpu' }, () => undefined);
    loadMs = performance.now() - started;
  });
  afterAll(async () => engine.unload());

  it('loads in under a second', () => {
    expect(loadMs).toBeLessThan(1000);
  });

  it('answers a seeded prompt as it did when the model was committed', async () => {
    const text = (await answer(engine, '白日依山尽，', { ...SAMPLED, seed: 2026 })).map((t) => t.text).join('');
    await expect(text).toMatchFileSnapshot('./poet-engine.answer.txt');
  });

  it('streams valid Chinese verse, one character per token, with no replacement character', async () => {
    const tokens = await answer(engine, '《春晓》', { ...SAMPLED, seed: 7 });
    // The last token is the end of the answer, which shows no text.
    expect(tokens.at(-1)).toMatchObject({ tokenId: POET_SPECIAL.imEnd, text: '' });
    const written = tokens.slice(0, -1);
    expect(written.length).toBeGreaterThan(10);
    for (const token of written) expect([...token.text]).toHaveLength(1);
    const text = written.map((t) => t.text).join('');
    expect(text).not.toContain('\uFFFD');
    expect(text).toMatch(VERSE);
  });

  // The famous line as the user types it: the model has learned where a line ends.
  it('after 床前明月光，疑是地上霜 its top candidate is the full stop, above 50%', async () => {
    const [first] = await answer(engine, '床前明月光，疑是地上霜', { ...GREEDY, seed: 0 }, 5);
    const top = first!.candidates![0]!;
    expect(top.text).toBe('。');
    expect(top.probability).toBeGreaterThan(0.5);
  });

  // A word of 王翰's 凉州词: 琵 is followed by 琶 in 99% of the training poems.
  it('after 葡萄美酒夜光杯，欲饮琵 its top candidate is 琶, above 50%', async () => {
    const [first] = await answer(engine, '葡萄美酒夜光杯，欲饮琵', { ...GREEDY, seed: 0 }, 5);
    const top = first!.candidates![0]!;
    expect(top.text).toBe('琶');
    expect(top.probability).toBeGreaterThan(0.5);
  });
});
