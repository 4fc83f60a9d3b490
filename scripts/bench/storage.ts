// npm run bench:storage — the conversation database at scale.
//
// Seeds 1,000,000 messages over 10,000 conversations (synthetic text from a fixed seed, with
// some Chinese; one conversation is a single branch of 10,000 messages), then measures:
//   search_p50_ms / search_p95_ms   100 varied queries (first page of 20, snippets included)
//   search_past_window_p50_ms/_p95_ms  the 25 commonest words, a page of 20 past the ranked window
//                                   (offsets RANK_WINDOW and 4 x RANK_WINDOW), and how many had hits
//   active_path_10k_load_ms         median load of the 10,000-message branch
//   append_batches_per_s            streamed-text batches committed per second (synchronous=FULL)
//   token_record_bytes_per_token    a 10,000-token answer's token record, 5 candidates a token
//                                   (synthetic: candidate ids log-uniform over a 151,936-token vocabulary)
//   token_record_load_10k_ms        median read of that record (the token view after a reload)
// plus the process CPU time of the first two (*_cpu_ms), which other load on the machine
// inflates far less than wall-clock time, and the load average at start and end.
// Prints one JSON object per line: {"machine": {...}} first, then {"figure": NAME, "value": N}.
// Progress goes to stderr.
//
// Flags: --db PATH (keep the database there; reused if already seeded), --messages N,
// --conversations N, --chain N (smaller runs), --keep (keep the temporary database).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { RANK_WINDOW } from '../../electron/storage/search.ts';
import { Storage } from '../../electron/storage/storage.ts';
import { printMachineLine } from './machine.ts';
import { CHINESE_WORDS, makeCorpus, prng } from './storage-corpus.ts';
import { seedDatabase } from './storage-seed.ts';
import { mulberry32 } from '../../electron/test-support/storage/prng.ts';
import { randomToken } from '../../electron/test-support/storage/token-samples.ts';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string' },
    messages: { type: 'string', default: '1000000' },
    conversations: { type: 'string', default: '10000' },
    chain: { type: 'string', default: '10000' },
    keep: { type: 'boolean', default: false },
  },
});
const MESSAGES = Number(args.messages);
const CONVERSATIONS = Number(args.conversations);
const CHAIN = Number(args.chain);
const SEED = 20_240_601;

const log = (line: string) => process.stderr.write(`${line}\n`);
const figure = (name: string, value: number) => console.log(JSON.stringify({ figure: name, value: Number(value.toFixed(3)) }));

function sqliteVersion(): string {
  const probe = new Database(':memory:');
  const version = (probe.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  probe.close();
  return version;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** 100 queries across the frequency spectrum, two-word, prefix, Chinese 1-4 characters, mixed, and misses. */
function benchQueries(words: string[]): { warmup: string[]; timed: string[] } {
  const rand = prng(7);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const common = words.slice(0, 150);
  const mid = words.slice(200, 2_000);
  const rare = words.slice(2_000);
  const two = CHINESE_WORDS.filter((w) => w.length === 2);
  const longer = CHINESE_WORDS.filter((w) => w.length >= 3); // 注意力, 上下文
  const timed: string[] = [];
  for (let i = 0; i < 25; i += 1) timed.push(`${common[i * 6] as string} `);
  for (let i = 0; i < 10; i += 1) timed.push(`${pick(mid)} `);
  for (let i = 0; i < 10; i += 1) timed.push(`${pick(rare)} `);
  for (let i = 0; i < 15; i += 1) timed.push(`${pick(common)} ${pick(mid)} `);
  for (let i = 0; i < 5; i += 1) timed.push(pick(mid).slice(0, 4)); // still typing: a prefix
  for (let i = 0; i < 15; i += 1) timed.push(two[(i * 5) % two.length] as string);
  timed.push(...longer.slice(0, 2), '注意力机制');
  for (let i = 0; i < 3; i += 1) timed.push(`${pick(two)}${pick(two)}`);
  timed.push('模', '学', '天', '数');
  timed.push('model 模型', 'cache 缓存', 'search 搜索', 'data 数据', 'token 生成');
  timed.push('zzyzx', 'qwertyuiop ', '不存在的词', 'the zzyzx', '模型 qwertyuiop');
  const warmup = Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? pick(two) : `${pick(mid)} `));
  return { warmup, timed };
}

async function main(): Promise<void> {
  printMachineLine({ sqlite: sqliteVersion() });
  const keepDir = args.db !== undefined || args.keep === true;
  const file = args.db !== undefined ? path.resolve(args.db) : path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jielong-bench-storage-')), 'bench.db');

  let chainId: string;
  let words: string[];
  const existing = fs.existsSync(file) ? new Database(file, { readonly: true, fileMustExist: true }) : null;
  const reuse =
    existing !== null &&
    (existing.prepare("SELECT id FROM conversations WHERE title = 'The very long conversation'").get() as { id: string } | undefined) !== undefined &&
    (existing.prepare("SELECT count(*) AS n FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.title <> 'append bench'").get() as { n: number }).n === MESSAGES;
  if (reuse && existing !== null) {
    chainId = (existing.prepare("SELECT id FROM conversations WHERE title = 'The very long conversation'").get() as { id: string }).id;
    existing.close();
    words = makeCorpus(SEED).words;
    log(`reusing the seeded database at ${file}`);
  } else {
    existing?.close();
    if (existing !== null) throw new Error(`${file} exists but is not a seeded bench database of ${MESSAGES} messages; remove it or pick another path`);
    log(`seeding ${MESSAGES.toLocaleString('en')} messages over ${CONVERSATIONS.toLocaleString('en')} conversations into ${file}`);
    const seeded = seedDatabase(file, { conversations: CONVERSATIONS, messages: MESSAGES, chainLength: CHAIN, seed: SEED, log });
    log(`seeded ${seeded.messages.toLocaleString('en')} messages in ${seeded.conversations.toLocaleString('en')} conversations in ${seeded.seconds.toFixed(1)} s`);
    figure('seed_s', seeded.seconds);
    chainId = seeded.chainConversationId;
    words = seeded.corpus.words;
  }

  const openStarted = performance.now();
  const storage = Storage.open(file);
  figure('open_ms', performance.now() - openStarted);
  figure('messages', MESSAGES);
  figure('conversations', CONVERSATIONS);

  // Search.
  const { warmup, timed } = benchQueries(words);
  for (const query of warmup) storage.search(query);
  const times: Array<{ query: string; ms: number; cpuMs: number; hits: number }> = [];
  for (const query of timed) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const page = storage.search(query, { limit: 20 });
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    times.push({ query, ms, cpuMs: (used.user + used.system) / 1000, hits: page.hits.length });
  }
  const sorted = times.map((t) => t.ms).sort((a, b) => a - b);
  const sortedCpu = times.map((t) => t.cpuMs).sort((a, b) => a - b);
  figure('search_p50_ms', percentile(sorted, 50));
  figure('search_p95_ms', percentile(sorted, 95));
  figure('search_max_ms', sorted[sorted.length - 1] as number);
  figure('search_p50_cpu_ms', percentile(sortedCpu, 50));
  figure('search_p95_cpu_ms', percentile(sortedCpu, 95));
  log(`slowest queries: ${[...times].sort((a, b) => b.ms - a.ms).slice(0, 6).map((t) => `${JSON.stringify(t.query)} ${t.ms.toFixed(1)} ms (${t.hits} hits)`).join(', ')}`);
  log(`queries with no hit: ${times.filter((t) => t.hits === 0).map((t) => JSON.stringify(t.query)).join(' ')}`);

  // A page past the ranked window (search.ts): the 25 common words each match far more than
  // RANK_WINDOW messages on the full corpus; the page after the window's end, and one deeper.
  const deep: Array<{ query: string; ms: number; cpuMs: number; hits: number }> = [];
  for (const query of timed.slice(0, 25)) {
    for (const offset of [RANK_WINDOW, RANK_WINDOW * 4]) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const page = storage.search(query, { limit: 20, offset });
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      deep.push({ query, ms, cpuMs: (used.user + used.system) / 1000, hits: page.hits.length });
    }
  }
  const sortedDeep = deep.map((t) => t.ms).sort((a, b) => a - b);
  const sortedDeepCpu = deep.map((t) => t.cpuMs).sort((a, b) => a - b);
  figure('search_past_window_p50_ms', percentile(sortedDeep, 50));
  figure('search_past_window_p95_ms', percentile(sortedDeep, 95));
  figure('search_past_window_p95_cpu_ms', percentile(sortedDeepCpu, 95));
  figure('search_past_window_pages_with_hits', deep.filter((t) => t.hits > 0).length);
  figure('search_past_window_pages', deep.length);

  // The 10,000-message branch.
  const first = storage.loadActivePath(chainId);
  if (first.messages.length !== CHAIN) throw new Error(`the long conversation has ${first.messages.length} messages on its path, expected ${CHAIN}`);
  const loads: number[] = [];
  const loadsCpu: number[] = [];
  for (let i = 0; i < 20; i += 1) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    storage.loadActivePath(chainId);
    loads.push(performance.now() - started);
    const used = process.cpuUsage(cpu);
    loadsCpu.push((used.user + used.system) / 1000);
  }
  loads.sort((a, b) => a - b);
  loadsCpu.sort((a, b) => a - b);
  figure('active_path_10k_load_ms', percentile(loads, 50));
  figure('active_path_10k_load_max_ms', loads[loads.length - 1] as number);
  figure('active_path_10k_load_cpu_ms', percentile(loadsCpu, 50));

  benchTokenRecord(storage, file);

  // Streaming appends: every batch is a committed transaction (fsync with synchronous=FULL).
  const conversation = storage.createConversation({ title: 'append bench' });
  storage.appendUserMessage({ conversationId: conversation.id, content: 'write a long answer' });
  let batches = 0;
  const writer = storage.beginAssistantMessage({ conversationId: conversation.id }, { maxChunks: 16, onCommit: () => (batches += 1) });
  const appendStarted = performance.now();
  let tokens = 0;
  while (performance.now() - appendStarted < 3_000) {
    writer.append(`tok${tokens % 100} `);
    tokens += 1;
  }
  const elapsed = (performance.now() - appendStarted) / 1000;
  writer.finish({ status: 'complete' });
  figure('append_batches_per_s', batches / elapsed);
  figure('append_tokens_per_s', tokens / elapsed);
  // Leave the database as seeded, so a later run with --db can reuse it.
  storage.softDeleteConversation(conversation.id);
  storage.purgeConversation(conversation.id);

  storage.close();
  const size = fs.statSync(file).size + (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
  figure('db_size_mb', size / 2 ** 20);
  figure('load_average_1m_end', os.loadavg()[0] as number);
  if (!keepDir) fs.rmSync(path.dirname(file), { recursive: true, force: true });
  else log(`database kept at ${file}`);
}

/** A 10,000-token answer streamed with its token record (5 candidates), then read back. */
function benchTokenRecord(storage: Storage, file: string): void {
  const TOKENS = 10_000;
  const conversation = storage.createConversation({ title: 'token record bench' });
  storage.appendUserMessage({ conversationId: conversation.id, content: 'write a long answer' });
  const writer = storage.beginAssistantMessage({ conversationId: conversation.id }, { maxChunks: 16 });
  const rand = mulberry32(SEED);
  for (let i = 0; i < TOKENS; i += 1) writer.append(`w${i % 89} `, randomToken(rand, 5));
  const answer = writer.finish({ status: 'complete' });
  const db = new Database(file, { readonly: true });
  const bytes = (db.prepare('SELECT sum(length(data)) AS n FROM token_records WHERE message_seq = (SELECT seq FROM messages WHERE id = ?)').get(answer.id) as { n: number }).n;
  db.close();
  figure('token_record_bytes_per_token', bytes / TOKENS);
  const loads: number[] = [];
  for (let i = 0; i < 20; i += 1) {
    const started = performance.now();
    const record = storage.getTokenRecord(answer.id);
    loads.push(performance.now() - started);
    if (record?.tokens.length !== TOKENS) throw new Error(`the token record read back ${record?.tokens.length ?? 0} tokens, expected ${TOKENS}`);
  }
  loads.sort((a, b) => a - b);
  figure('token_record_load_10k_ms', percentile(loads, 50));
  figure('token_record_load_10k_max_ms', loads[loads.length - 1] as number);
  storage.softDeleteConversation(conversation.id);
  storage.purgeConversation(conversation.id);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
