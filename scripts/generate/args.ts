// Parses `npm run generate -- ...` arguments. Separate from cli.ts so tests can call it.
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dtypeSchema, seededSamplingParamsSchema, describeIssues, DEFAULT_SAMPLING_PARAMS, SAMPLING_LIMITS, type ModelDtype, type SeededSamplingParams } from '../../electron/shared/model-host-protocol.ts';

export const USAGE = `Usage: npm run generate -- --model DIR --prompt TEXT [--dtype D] [--system TEXT]
       [--max-tokens N] [--seed S] [--temperature T] [--json]

Runs one chat turn through the same model host the app uses and prints the answer.

  --model        a model folder (transformers.js layout: config.json, tokenizer files, onnx/)
  --prompt       the user's message
  --dtype        which weights: ${dtypeSchema.options.join(', ')} (default: the first the folder has)
  --system       a system message before the prompt
  --max-tokens   the most tokens to generate (default ${DEFAULT_SAMPLING_PARAMS.maxNewTokens})
  --seed         sampling seed, so a run can be replayed (default: picked and reported)
  --temperature  0 is greedy (default ${DEFAULT_SAMPLING_PARAMS.temperature})
  --json         print one line: {"text", "tokenIds", "stats", "model"} instead of streaming text`;

export class UsageError extends Error {}

export interface GenerateCommand {
  modelDir: string;
  dtype: ModelDtype | undefined;
  system: string | undefined;
  prompt: string;
  params: SeededSamplingParams;
  json: boolean;
}

function integer(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a whole number, got "${value}"`);
  return Number(value);
}

export function parseGenerateArgs(argv: readonly string[]): GenerateCommand | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        model: { type: 'string' },
        prompt: { type: 'string' },
        dtype: { type: 'string' },
        system: { type: 'string' },
        'max-tokens': { type: 'string' },
        seed: { type: 'string' },
        temperature: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (!values.model?.trim()) throw new UsageError('--model DIR is required');
  if (values.prompt === undefined || values.prompt.trim() === '') throw new UsageError('--prompt TEXT is required');
  let dtype: ModelDtype | undefined;
  if (values.dtype !== undefined) {
    const parsed = dtypeSchema.safeParse(values.dtype);
    if (!parsed.success) throw new UsageError(`unknown dtype "${values.dtype}" (expected ${dtypeSchema.options.join(', ')})`);
    dtype = parsed.data;
  }
  // The protocol's schema owns the limits; the CLI only converts text to numbers.
  const params = seededSamplingParamsSchema.safeParse({
    ...DEFAULT_SAMPLING_PARAMS,
    ...(values['max-tokens'] !== undefined ? { maxNewTokens: integer('--max-tokens', values['max-tokens']) } : {}),
    seed: values.seed !== undefined ? integer('--seed', values.seed) : randomInt(0, SAMPLING_LIMITS.seed),
    ...(values.temperature !== undefined ? { temperature: Number(values.temperature) } : {}),
  });
  if (!params.success) throw new UsageError(describeIssues(params.error));
  return {
    modelDir: path.resolve(values.model),
    dtype,
    system: values.system,
    prompt: values.prompt,
    params: params.data,
    json: values.json ?? false,
  };
}
