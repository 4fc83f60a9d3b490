// The kill test of "what the user has seen is stored": the browser host streams an answer to
// a WebSocket client (standing in for the page) and is killed with SIGKILL at a random moment.
// After each kill the database, opened as the next start opens it, must hold every character
// the client had received for that answer. A token reaches the page only after its text is
// committed, so nothing shown can be lost with the process.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DATABASE_FILE } from '../services/app-services.ts';
import { Storage } from '../storage/index.ts';

const RUNS = 50;
/** Children started ahead, loading while the current one runs (start-up is most of a run). */
const SPARES = 2;
/** Kills land this long after the first token, uniformly (the answer takes longer than this). */
const MAX_KILL_DELAY_MS = 250;

const here = path.dirname(fileURLToPath(import.meta.url));
const roots: string[] = [];

interface Child {
  root: string;
  process: ChildProcessWithoutNullStreams;
  started: Promise<{ port: number; token: string; model: string }>;
  exited: Promise<void>;
  stderr: string[];
}

function spawnChild(): Child {
  const root = mkdtempSync(path.join(os.tmpdir(), 'jielong-kill-'));
  roots.push(root);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '..', 'test-support', 'server', 'kill-child.ts'), root], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (data: string) => stderr.push(data));
  const started = new Promise<{ port: number; token: string; model: string }>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (data: string) => {
      out += data;
      const newline = out.indexOf('\n');
      if (newline !== -1) resolve(JSON.parse(out.slice(0, newline)) as { port: number; token: string; model: string });
    });
    child.on('close', () => reject(new Error(`the host exited before it listened: ${stderr.join('')}`)));
  });
  started.catch(() => undefined);
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { root, process: child, started, exited, stderr };
}

/** A client speaking the browser host's protocol, recording the token text it was sent. */
async function connect(port: number, token: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`, { headers: { origin: `http://127.0.0.1:${port}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const received = new Map<string, string>();
  const pending = new Map<number, (result: { ok: boolean; value?: unknown; error?: unknown }) => void>();
  let firstToken: () => void = () => undefined;
  const gotFirstToken = new Promise<void>((resolve) => (firstToken = resolve));
  let nextId = 1;
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; id?: number; result?: never; name?: string; payload?: { messageId: string; text: string } };
    if (frame.type === 'result' && frame.id !== undefined) pending.get(frame.id)?.(frame.result as never);
    if (frame.type === 'event' && frame.name === 'generation.token' && frame.payload) {
      const { messageId, text } = frame.payload;
      received.set(messageId, (received.get(messageId) ?? '') + text);
      if (text) firstToken();
    }
  });
  const call = <T>(name: string, input: object): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (result) => (result.ok ? resolve(result.value as T) : reject(new Error(JSON.stringify(result.error)))));
      ws.send(JSON.stringify({ type: 'call', id, name, input }));
    });
  return { ws, call, received, gotFirstToken };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('kill -9 of the browser host while an answer streams', () => {
  it(`keeps every character the page was sent, through ${RUNS} kills at random moments`, { timeout: 300_000 }, async () => {
    const started = Date.now();
    const spares: Child[] = [];
    const refill = (left: number) => {
      while (spares.length < Math.min(SPARES, left)) spares.push(spawnChild());
    };
    refill(RUNS);
    const problems: string[] = [];
    let shownTotal = 0;
    let killedMidAnswer = 0;
    for (let run = 0; run < RUNS; run += 1) {
      const child = spares.shift() as Child;
      refill(RUNS - run - 1);
      const { port, token, model } = await child.started;
      expect(model, 'the scripted model is loaded').toBe('ready');
      const client = await connect(port, token);
      const conversation = await client.call<{ id: string }>('conversations.create', {});
      const sent = await client.call<{ assistantMessage: { id: string } }>('chat.send', { conversationId: conversation.id, content: `question ${run}` });
      await client.gotFirstToken;
      await sleep(Math.random() * MAX_KILL_DELAY_MS);
      child.process.kill('SIGKILL');
      await child.exited;
      client.ws.terminate();
      // Every token frame that arrived before the socket closed was sent before the kill.
      const shown = client.received.get(sent.assistantMessage.id) ?? '';
      shownTotal += shown.length;

      const storage = Storage.open(path.join(child.root, 'data', DATABASE_FILE));
      const stored = storage.getMessage(sent.assistantMessage.id);
      storage.close();
      if (!stored.content.startsWith(shown)) problems.push(`run ${run}: ${shown.length} characters shown, ${stored.content.length} stored`);
      if (stored.status === 'interrupted') killedMidAnswer += 1;
    }
    expect(problems).toEqual([]);
    // The runs must have exercised something: text shown, and kills during the answer.
    expect(shownTotal).toBeGreaterThan(RUNS * 10);
    expect(killedMidAnswer).toBeGreaterThan(RUNS / 2);
    console.info(`kill test: ${RUNS} kills in ${((Date.now() - started) / 1000).toFixed(1)} s, ${shownTotal} characters shown, ${killedMidAnswer} mid-answer`);
  });
});
