// node-llama-cpp's prebuilt llama.cpp binary, timed like the other sides: decode = tokens after
// the first / time from the first to the last; prefill = prompt tokens / time to evaluate them.
// Run in its own process (the bench spawns it) so that its threads and memory are its own:
//   node --import tsx prebuilt-side.ts '{"nodeLlamaCppDir","model","threads","promptIds","decodeTokens","prefillIds","rounds"}'
// prints one JSON line {"decode": [tok/s per round], "prefill": [tok/s per round]}.
// 1 thread only: at 2 threads on 2 vCPUs this binary starts new worker threads on every decode
// call (~10-13 ms per token), which is not llama.cpp's speed.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface Args {
  nodeLlamaCppDir: string;
  model: string;
  threads: number;
  promptIds: number[];
  decodeTokens: number;
  prefillIds: number[];
  rounds: number;
}

interface Sequence {
  evaluate(tokens: number[], options: { temperature: number }): AsyncGenerator<number>;
  evaluateWithoutGeneratingNewTokens(tokens: number[]): Promise<void>;
  clearHistory(): Promise<void>;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const mod = (await import(pathToFileURL(path.join(args.nodeLlamaCppDir, 'dist', 'index.js')).href)) as {
    getLlama(options: Record<string, unknown>): Promise<{
      loadModel(options: { modelPath: string }): Promise<{ createContext(options: Record<string, unknown>): Promise<{ getSequence(): Sequence }> }>;
    }>;
  };
  const llama = await mod.getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, logLevel: 'error' });
  const model = await llama.loadModel({ modelPath: args.model });
  const size = Math.max(args.prefillIds.length, args.promptIds.length + args.decodeTokens + 1) + 16;
  const context = await model.createContext({ contextSize: size, batchSize: size, threads: args.threads, sequences: 1 });
  const sequence = context.getSequence();

  const decodeOnce = async (): Promise<number> => {
    await sequence.clearHistory();
    const times: number[] = [];
    for await (const _token of sequence.evaluate(args.promptIds, { temperature: 0 })) {
      times.push(performance.now());
      if (times.length === args.decodeTokens + 1) break;
    }
    if (times.length !== args.decodeTokens + 1) throw new Error(`prebuilt: decoded ${times.length - 1} tokens, not ${args.decodeTokens}`);
    return args.decodeTokens / ((times.at(-1)! - times[0]!) / 1000);
  };
  const prefillOnce = async (): Promise<number> => {
    await sequence.clearHistory();
    const started = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(args.prefillIds);
    return args.prefillIds.length / ((performance.now() - started) / 1000);
  };

  await decodeOnce(); // warm-up, as every side gets one
  await prefillOnce();
  const decode: number[] = [];
  const prefill: number[] = [];
  for (let round = 0; round < args.rounds; round++) {
    decode.push(await decodeOnce());
    if (args.prefillIds.length) prefill.push(await prefillOnce());
  }
  console.log(JSON.stringify({ decode, prefill }));
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
