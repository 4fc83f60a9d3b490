// npm run make:model's argument parsing, and one real run of the command.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseCliArgs, UsageError } from './cli-args.ts';
import { makeTempDir } from './test-support.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

describe('parseCliArgs', () => {
  it('reads preset, dtype, seed and out', () => {
    expect(parseCliArgs(['--preset', 'smollm2', '--dtype', 'q4', '--seed', '42', '--out', 'x'])).toEqual({
      kind: 'make',
      options: { preset: 'smollm2', dtype: ['q4'], seed: 42, outDir: 'x' },
    });
    expect(parseCliArgs(['--preset=tiny', '--out=dir'])).toEqual({
      kind: 'make',
      options: { preset: 'tiny', dtype: ['fp32', 'q8', 'q4'], seed: 0, outDir: 'dir' },
    });
    expect(parseCliArgs(['--preset', 'tiny', '--dtype', 'fp32,q4', '--out', 'd'])).toMatchObject({ options: { dtype: ['fp32', 'q4'] } });
    expect(parseCliArgs(['--preset', 'tiny', '--dtype', 'all', '--out', 'd'])).toMatchObject({ options: { dtype: ['fp32', 'q8', 'q4'] } });
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help' });
  });

  it('reads --gguf: GGUF types beside the ONNX files', () => {
    expect(parseCliArgs(['--preset', 'smollm2', '--gguf', 'Q8_0,Q4_0', '--out', 'x'])).toMatchObject({ kind: 'make', gguf: ['Q8_0', 'Q4_0'] });
    expect(parseCliArgs(['--mirror', 'qwen2.5-0.5b-instruct', '--gguf', 'all', '--out', 'x'])).toMatchObject({ kind: 'mirror', gguf: ['F32', 'Q8_0', 'Q4_0'] });
    expect(() => parseCliArgs(['--preset', 'tiny', '--gguf', 'Q5_K', '--out', 'x'])).toThrow(UsageError);
  });

  it('reads a mirror with its catalog dtypes by default, or the ones asked for', () => {
    expect(parseCliArgs(['--mirror', 'llama-3.2-1b-instruct', '--out', 'd'])).toEqual({
      kind: 'mirror',
      options: { catalogId: 'llama-3.2-1b-instruct', dtype: ['q4', 'q8'], seed: 0, outDir: 'd' },
    });
    expect(
      parseCliArgs(['--mirror', 'qwen3-gqa-rotary', '--dtype', 'q4f16,fp16', '--full-size', '--seed', '9', '--external-data-chunks', '2', '--num-logits-to-keep', '--out', 'd']),
    ).toEqual({
      kind: 'mirror',
      options: { catalogId: 'qwen3-gqa-rotary', dtype: ['q4f16', 'fp16'], seed: 9, outDir: 'd', fullSize: true, numLogitsToKeep: true, externalDataChunks: 2 },
    });
    expect(parseCliArgs(['--mirror', 'gemma-3-1b-it', '--dtype', 'all', '--out', 'd'])).toMatchObject({ options: { dtype: ['fp32', 'fp16', 'q8', 'q4', 'q4f16'] } });
  });

  it.each([
    [['--mirror', 'gpt-5', '--out', 'x'], /unknown mirror "gpt-5"/],
    [['--mirror', 'gemma-3-1b-it', '--preset', 'tiny', '--out', 'x'], /cannot be combined/],
    [['--mirror', 'gemma-3-1b-it'], /--out DIR is required/],
    [['--mirror', 'gemma-3-1b-it', '--out', 'x', '--dtype', 'int4'], /unknown dtype "int4"/],
    [['--mirror', 'gemma-3-1b-it', '--out', 'x', '--external-data-chunks', '0'], /--external-data-chunks must be/],
    [['--preset', 'tiny', '--out', 'x', '--full-size'], /--full-size goes with --mirror/],
    [['--out', 'x'], /--preset is required/],
    [['--preset', 'huge', '--out', 'x'], /unknown preset "huge"/],
    [['--preset', 'tiny'], /--out DIR is required/],
    [['--preset', 'tiny', '--out', 'x', '--dtype', 'int4'], /unknown dtype "int4"/],
    [['--preset', 'tiny', '--out', 'x', '--seed', '1.5'], /--seed must be an integer/],
    [['--preset', 'tiny', '--out', 'x', '--seed', '4294967296'], /--seed must be an integer/],
    [['--preset', 'tiny', '--out', 'x', '--size', '3'], /Unknown option '--size'/],
    [['--preset', 'tiny', '--out', 'x', 'extra'], /Unexpected argument 'extra'/],
    [['--preset'], /argument missing/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError);
    expect(() => parseCliArgs(argv)).toThrow(message);
  });
});

describe('the make:model command', () => {
  it('writes the requested files, and explains bad arguments with status 2', async () => {
    const { dir, cleanup } = await makeTempDir('jielong-cli-');
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', CLI, '--preset', 'tiny', '--dtype', 'q4', '--out', dir]);
      expect(stdout).toMatch(/Wrote tiny \(q4, seed 0\)/);
      expect(existsSync(path.join(dir, 'onnx', 'model_q4.onnx'))).toBe(true);
      expect(existsSync(path.join(dir, 'onnx', 'model.onnx'))).toBe(false);
      expect(existsSync(path.join(dir, 'tokenizer.json'))).toBe(true);

      const failure = await run(process.execPath, ['--import', 'tsx', CLI, '--preset', 'tiny', '--dtype', 'fp16', '--out', dir]).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure?.code).toBe(2);
      expect(failure?.stderr).toMatch(/unknown dtype "fp16"[\s\S]*Usage: npm run make:model/);

      const mirror = await run(process.execPath, ['--import', 'tsx', CLI, '--mirror', 'gemma-3-1b-it', '--out', path.join(dir, 'gemma')]);
      expect(mirror.stdout).toMatch(/Wrote the gemma-3-1b-it mirror \(q4, seed 0\)/);
      expect(existsSync(path.join(dir, 'gemma', 'onnx', 'model_q4.onnx_data'))).toBe(true);
    } finally {
      await cleanup();
    }
  });
});
