// npm run make:model -- --preset tiny|smollm2 [--dtype fp32|q8|q4|all] [--seed N] --out DIR
// npm run make:model -- --mirror ID [--dtype ...] [--full-size] [--seed N] --out DIR
// either with [--gguf F32,Q8_0,Q4_0|all]: the same weights as GGUF too (gguf.ts)
import path from 'node:path';
import { parseCliArgs, USAGE, UsageError } from './cli-args.ts';
import { makeModel } from './make-model.ts';
import { makeMirror } from './mirrors.ts';
import { writeGgufModel } from './gguf.ts';

function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}

async function main(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`make:model: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (command.kind === 'help') {
    console.log(USAGE);
    return 0;
  }
  const started = performance.now();
  const result = command.kind === 'mirror' ? await makeMirror(command.options) : await makeModel(command.options);
  for (const type of command.gguf ?? []) {
    const outFile = path.join(result.outDir, `model-${type}.gguf`);
    const { seed: ggufSeed = 0 } = command.options;
    const written =
      command.kind === 'mirror'
        ? await writeGgufModel({ mirror: command.options.catalogId, fullSize: command.options.fullSize ?? false, type, seed: ggufSeed, outFile })
        : await writeGgufModel({ preset: command.options.preset, type, seed: ggufSeed, outFile });
    result.files[path.basename(outFile)] = written.bytes;
  }
  const seconds = (performance.now() - started) / 1000;
  const { seed = 0 } = command.options;
  const what = command.kind === 'mirror' ? `the ${command.options.catalogId} mirror${command.options.fullSize ? ' (full size)' : ''}` : command.options.preset;
  console.log(`Wrote ${what} (${result.dtypes.join(', ')}, seed ${seed}) to ${result.outDir} in ${seconds.toFixed(1)} s:`);
  for (const [file, size] of Object.entries(result.files)) console.log(`  ${file.padEnd(28)} ${formatBytes(size)}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`make:model failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
