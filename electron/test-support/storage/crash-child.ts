// The child process of the crash test (electron/storage/crash.test.ts): it opens the database, then creates
// conversations and streams answers into them forever, printing one JSON line to stdout after
// every commit. The parent kills it with SIGKILL at random moments and checks that everything
// reported as committed is still there.
//
// Protocol (stdout, one line each): {"t":"ready"} once loaded; after "go" on stdin:
//   {"t":"open","recovered":N}
//   {"t":"user","id":ID,"content":TEXT}        the user message is committed
//   {"t":"batch","id":ID,"len":N}              the first N UTF-16 units of ID's text are committed,
//                                              with the token record of the chunks that wrote them
//   {"t":"done","id":ID,"len":N}               ID is committed as complete with N units of text
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { RecordedToken } from '../../shared/token-record.ts';
import { Storage } from '../../storage/storage.ts';
import { mulberry32 } from './prng.ts';

/** The text of chunk `index` of message `id`: known to the parent, so it can check prefixes. */
export function chunkText(id: string, index: number): string {
  return index % 3 === 0 ? `${id.slice(0, 4)}#${index} 模型生成 ` : `tok${index}·${(index * 7919) % 1000} `;
}

/** The token recorded with chunk `index`: known to the parent, so it can check the record. */
export function chunkToken(index: number): RecordedToken {
  const probability = ((index * 37) % 101) / 100;
  return {
    tokenId: index,
    probability,
    modelProbability: probability / 2,
    entropyBits: index % 7,
    decodeMs: index + 0.5,
    candidates: [
      { tokenId: index, text: `tok${index}`, probability, modelProbability: probability / 2 },
      { tokenId: 100_000 + (index % 5), text: '候选', probability: 1 - probability, modelProbability: null },
    ],
  };
}

/** The first `length` units of the text the child streams into message `id`. */
export function expectedText(id: string, length: number): string {
  let text = '';
  for (let index = 0; text.length < length; index += 1) text += chunkText(id, index);
  return text.slice(0, length);
}

function report(line: object): void {
  // Synchronous: once the line is written the parent can read it even if we die next.
  fs.writeSync(1, `${JSON.stringify(line)}\n`);
}

function run(file: string, seed: number): void {
  const rand = mulberry32(seed);
  const storage = Storage.open(file);
  report({ t: 'open', recovered: storage.info.recoveredStreaming });
  let conversationId: string | null = null;
  for (let turn = 0; ; turn += 1) {
    if (conversationId === null || rand() < 0.25) conversationId = storage.createConversation({ title: `crash ${seed} ${turn}` }).id;
    const content = `question ${seed}/${turn} 问题`;
    const user = storage.appendUserMessage({ conversationId, content });
    report({ t: 'user', id: user.id, content });
    const writer = storage.beginAssistantMessage(
      { conversationId, modelId: 'crash-test', seed: turn },
      { intervalMs: 1_000_000, maxChunks: 1 + Math.floor(rand() * 4), onCommit: (batch) => report({ t: 'batch', id: batch.messageId, len: batch.committedLength }) },
    );
    const chunks = 4 + Math.floor(rand() * 30);
    for (let index = 0; index < chunks; index += 1) writer.append(chunkText(writer.messageId, index), chunkToken(index));
    const done = writer.finish({ status: 'complete', stats: { decodeTokens: chunks, stopReason: 'eos' } });
    report({ t: 'done', id: done.id, len: done.content.length });
  }
}

function main(): void {
  const [file, seedText] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: crash-child <database file> [seed]');
  report({ t: 'ready' });
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (data: string) => {
    input += data;
    if (input.includes('go\n')) {
      process.stdin.pause();
      run(file, Number(seedText ?? '1'));
    }
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
