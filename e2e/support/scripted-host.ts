// A stand-in for the model host process that writes scripted answers: markdown chosen by the
// test, at a pace chosen by the test (or as fast as the pipe allows), with candidates and
// stats like the real host's. It speaks the same protocol (electron/shared/model-host-
// protocol.ts) through the same HostProcess interface, so everything above it — the host
// client, the services, the browser host, the renderer — is the real code. The real tiny
// model is used where the model itself matters (seeds, switching, killing the process).
import type { HostProcess, SpawnHost } from '../../electron/services/model-host-client.ts';
import type { ChatMessage, HostEvent, HostRequest, LoadedModelInfo, TokenCandidate } from '../../electron/shared/model-host-protocol.ts';

/** What the engine reports for the bundled demo model's graph. */
const SCRIPTED_GRAPH: LoadedModelInfo['graph'] = { style: 'optimum', attentionOp: 'MatMul+Softmax', kvDtype: 'float32', logitsDtype: 'float32', externalData: false, inputs: ['input_ids', 'attention_mask', 'position_ids', 'past_key_values.*.key', 'past_key_values.*.value'] };

export interface ScriptedHostOptions {
  /** The answer to a conversation; `turn` counts the requests this host family has answered. */
  answer: (messages: ChatMessage[], turn: number) => string;
  /** Tokens sent together (one macrotask apart from the next batch). */
  tokensPerBatch?: number;
  /** Pause between batches; 0 means as fast as the pipe allows (a macrotask yield). */
  batchDelayMs?: number;
  contextLength?: number;
  /** How many candidates each token carries at most (the request's own number caps it). */
  candidates?: number;
  /** Fail turn `turn` after `tokens` tokens with a generation error, as a broken model would. */
  failAt?: { turn: number; tokens: number };
}

/** Cuts text into token-like pieces: words (long ones in 5-character chunks), spaces, punctuation. */
export function scriptTokens(text: string): string[] {
  const pieces = text.match(/ ?[A-Za-z]+|\d|\s+|[^\sA-Za-z\d]/g) ?? [];
  const tokens: string[] = [];
  for (const piece of pieces) {
    if (piece.length <= 6) tokens.push(piece);
    else for (let i = 0; i < piece.length; i += 5) tokens.push(piece.slice(i, i + 5));
  }
  return tokens;
}

const FILLER = [' the', ' a', ',', '.', ' and', '\n', ' of', ' to'];

function candidatesFor(token: string, index: number, count: number): { probability: number; candidates: TokenCandidate[] } {
  const probability = 0.35 + ((index * 37) % 60) / 100;
  const rest = 1 - probability;
  const candidates: TokenCandidate[] = [{ tokenId: 1000 + (index % 500), text: token, probability }];
  for (let i = 0; candidates.length < count; i++) {
    const text = FILLER[(index + i) % FILLER.length]!;
    if (text === token) continue;
    candidates.push({ tokenId: i + 1, text, probability: rest / 2 ** (i + 1) });
  }
  return { probability, candidates: candidates.slice(0, count) };
}

let pids = 900_000;

export function scriptedSpawner(options: ScriptedHostOptions): SpawnHost {
  // Turns count across restarts of the scripted process, per host (per test).
  let turns = 0;
  return (): HostProcess => {
    const listeners: Array<(message: unknown) => void> = [];
    const exitListeners: Array<(code: number | null, signal: string | null) => void> = [];
    const pid = pids++;
    let alive = true;
    const cancelled = new Set<string>();
    let modelDir: string | null = null;

    const emit = (event: HostEvent): void => {
      if (!alive) return;
      for (const listener of listeners) listener(structuredClone(event));
    };
    const later = (fn: () => void, ms = 0): void => {
      if (ms > 0) setTimeout(fn, ms);
      else setImmediate(fn);
    };

    const generate = (request: Extract<HostRequest, { type: 'generate' }>): void => {
      const { requestId } = request;
      const turn = turns++;
      const messages = request.messages ?? [{ role: 'user' as const, content: request.prompt ?? '' }];
      const text = options.answer(messages, turn);
      const tokens = scriptTokens(text);
      const promptTokens = messages.reduce((sum, m) => sum + Math.ceil(m.content.length / 4) + 4, 0);
      const limit = Math.min(tokens.length, request.params.maxNewTokens);
      const count = Math.min(request.candidates ?? 0, options.candidates ?? 5);
      const started = performance.now();
      let firstTokenAt = 0;
      emit({ type: 'prefill', requestId, promptTokens, cachedTokens: Math.max(0, promptTokens - 12), droppedMessages: 0 });
      let at = 0;
      const step = (): void => {
        if (!alive) return;
        const finish = (stopReason: 'eos' | 'max_tokens' | 'cancelled'): void => {
          const elapsed = Math.max(1, performance.now() - started);
          emit({
            type: 'done',
            requestId,
            stats: {
              promptTokens,
              cachedTokens: Math.max(0, promptTokens - 12),
              prefillMs: 3,
              timeToFirstTokenMs: Math.round(firstTokenAt - started) || 4,
              decodeTokens: at,
              decodeTokensPerSecond: (at / elapsed) * 1000,
              prefillTokensPerSecond: 4000,
              stopReason,
              seed: request.params.seed ?? 7,
              droppedMessages: 0,
              contextLength: options.contextLength ?? 4096,
            },
          });
        };
        if (cancelled.has(requestId)) return finish('cancelled');
        if (options.failAt?.turn === turn && at >= options.failAt.tokens) {
          emit({ type: 'error', requestId, code: 'generation_failed', message: 'The model produced NaN logits at position 42' });
          return;
        }
        const end = Math.min(limit, at + (options.tokensPerBatch ?? 1));
        for (; at < end; at++) {
          const token = tokens[at]!;
          const { probability, candidates } = candidatesFor(token, at, Math.max(count, 1));
          firstTokenAt ||= performance.now();
          emit({ type: 'token', requestId, text: token, tokenId: candidates[0]!.tokenId, probability, ...(count > 0 ? { candidates } : {}) });
        }
        if (at >= limit) return finish(limit < tokens.length ? 'max_tokens' : 'eos');
        later(step, options.batchDelayMs ?? 0);
      };
      later(step, options.batchDelayMs ?? 0);
    };

    const host: HostProcess = {
      pid,
      send(message) {
        if (!alive) return;
        later(() => {
          switch (message.type) {
            case 'load':
              modelDir = message.modelDir;
              emit({ type: 'load-progress', requestId: message.requestId, file: 'onnx/model.onnx', progress: 50 });
              later(() =>
                emit({
                  type: 'loaded',
                  requestId: message.requestId,
                  info: { modelDir: modelDir ?? '', dtype: message.dtype, device: 'cpu', contextLength: options.contextLength ?? 4096, vocabSize: 512, loadMs: 12, rssBytes: 96 * 1024 * 1024, modelFileBytes: 528_000, graph: SCRIPTED_GRAPH },
                }),
              20);
              return;
            case 'unload':
              emit({ type: 'unloaded', requestId: message.requestId });
              return;
            case 'generate':
              generate(message);
              return;
            case 'cancel':
              cancelled.add(message.requestId);
              return;
          }
        });
      },
      onMessage(listener) {
        listeners.push(listener);
      },
      onExit(listener) {
        exitListeners.push(listener);
      },
      kill() {
        if (!alive) return;
        alive = false;
        later(() => {
          for (const listener of exitListeners) listener(null, 'SIGKILL');
        });
      },
    };
    later(() => emit({ type: 'ready', pid }));
    return host;
  };
}
