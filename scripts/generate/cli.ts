// npm run generate -- --model DIR --prompt TEXT [...]: one chat turn through the model host
// the app runs (a child process speaking the host protocol), for scripts and checks.
import { ModelHostClient } from '../../electron/services/model-host-client.ts';
import { nodeHostSpawner } from '../../electron/services/node-host-process.ts';
import { dtypesInFolder } from '../../electron/model-files/model-folder-inspect.ts';
import { ModelHostError } from '../../electron/shared/model-host-error.ts';
import type { ChatMessage } from '../../electron/shared/model-host-protocol.ts';
import { parseGenerateArgs, USAGE, UsageError } from './args.ts';

async function main(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseGenerateArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`generate: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (command === 'help') {
    console.log(USAGE);
    return 0;
  }
  const dtype = command.dtype ?? (await dtypesInFolder(command.modelDir))[0];
  if (!dtype) {
    console.error(`generate: ${command.modelDir} has no onnx/model*.onnx weights`);
    return 1;
  }
  const messages: ChatMessage[] = [...(command.system ? [{ role: 'system' as const, content: command.system }] : []), { role: 'user', content: command.prompt }];
  const client = new ModelHostClient(nodeHostSpawner());
  try {
    const info = await client.load({ modelDir: command.modelDir, dtype });
    const tokenIds: number[] = [];
    let text = '';
    const generation = client.generate({
      messages,
      params: command.params,
      onToken(event) {
        tokenIds.push(event.tokenId);
        text += event.text;
        if (!command.json) process.stdout.write(event.text);
      },
    });
    const stats = await generation.done;
    if (command.json) {
      console.log(JSON.stringify({ text, tokenIds, stats, model: { dir: info.modelDir, dtype: info.dtype, graph: info.graph } }));
    } else {
      process.stdout.write('\n');
      console.error(
        `[${stats.decodeTokens} tokens, ${stats.decodeTokensPerSecond.toFixed(1)} tok/s, stop: ${stats.stopReason}, seed ${stats.seed}; ` +
          `${info.graph.style}, ${info.graph.attentionOp}, KV ${info.graph.kvDtype}]`,
      );
    }
    return 0;
  } catch (error) {
    console.error(`generate: ${error instanceof ModelHostError ? error.message : String(error)}`);
    return 1;
  } finally {
    client.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`generate failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
