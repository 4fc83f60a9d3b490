// npm run generate: its arguments, and real runs through the model host process.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AutoTokenizer } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../electron/model-host/engine.ts';
import { DEFAULT_SAMPLING_PARAMS } from '../../electron/shared/model-host-protocol.ts';
import { DEMO_MODEL_DIR } from '../testing/model-fixtures.ts';
import { parseGenerateArgs, UsageError } from './args.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

function generate(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 60_000 });
}

describe('parseGenerateArgs', () => {
  it('reads the model, prompt and sampling options, with the protocol defaults', () => {
    expect(parseGenerateArgs(['--model', 'm', '--prompt', 'hi', '--max-tokens', '7', '--seed', '9', '--temperature', '0', '--json'])).toEqual({
      modelDir: path.resolve('m'),
      dtype: undefined,
      system: undefined,
      prompt: 'hi',
      params: { ...DEFAULT_SAMPLING_PARAMS, maxNewTokens: 7, seed: 9, temperature: 0 },
      json: true,
    });
    expect(parseGenerateArgs(['--model', 'm', '--prompt', 'hi', '--dtype', 'q4f16'])).toMatchObject({ dtype: 'q4f16', json: false });
    expect(parseGenerateArgs(['-h'])).toBe('help');
  });

  it.each([
    [['--prompt', 'hi'], /--model DIR is required/],
    [['--model', 'm'], /--prompt TEXT is required/],
    [['--model', 'm', '--prompt', 'hi', '--dtype', 'int4'], /unknown dtype "int4"/],
    [['--model', 'm', '--prompt', 'hi', '--max-tokens', '0'], /maxNewTokens must be at least 1/],
    [['--model', 'm', '--prompt', 'hi', '--max-tokens', '2.5'], /--max-tokens must be a whole number/],
    [['--model', 'm', '--prompt', 'hi', '--temperature', '9'], /temperature must be at most 5/],
    [['--model', 'm', '--prompt', 'hi', '--top-k', '3'], /Unknown option '--top-k'/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseGenerateArgs(argv)).toThrow(UsageError);
    expect(() => parseGenerateArgs(argv)).toThrow(message);
  });
});

describe('npm run generate', () => {
  it('answers through the model host with the same tokens as the engine in-process, seed for seed', async () => {
    const { stdout } = await generate(['--model', DEMO_MODEL_DIR, '--prompt', '接龙 dragon', '--max-tokens', '20', '--seed', '11', '--json']);
    const result = JSON.parse(stdout) as { text: string; tokenIds: number[]; stats: { seed: number; decodeTokens: number }; model: { graph: { style: string } } };
    expect(result.stats.seed).toBe(11);
    expect(result.model.graph.style).toBe('optimum');
    expect(result.tokenIds.length).toBe(result.stats.decodeTokens);

    const engine = new Engine();
    await engine.load({ modelDir: DEMO_MODEL_DIR, dtype: 'fp32', device: 'cpu' }, () => undefined);
    const ids: number[] = [];
    await engine.generate(
      { requestId: 'r', messages: [{ role: 'user', content: '接龙 dragon' }], params: { ...DEFAULT_SAMPLING_PARAMS, maxNewTokens: 20, seed: 11 }, candidates: 0, reuseCache: false },
      { onPrefill: () => undefined, onToken: (event) => ids.push(event.tokenId), isCancelled: () => false },
    );
    await engine.unload();
    expect(result.tokenIds).toEqual(ids);
    const tokenizer = await AutoTokenizer.from_pretrained(DEMO_MODEL_DIR);
    expect(result.text).toBe(tokenizer.decode(ids, { skip_special_tokens: true }));
  });

  it('exits 2 with the usage on a bad argument and 1 with a plain message on a folder that is not a model', async () => {
    const bad = await generate(['--model', DEMO_MODEL_DIR]).catch((error: { code: number; stderr: string }) => error);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toContain('--prompt TEXT is required');
    const notModel = await generate(['--model', path.dirname(CLI), '--prompt', 'hi', '--dtype', 'fp32']).catch((error: { code: number; stderr: string }) => error);
    expect(notModel).toMatchObject({ code: 1 });
    expect((notModel as { stderr: string }).stderr).toMatch(/generate: The model is missing config.json/);
  });
});
