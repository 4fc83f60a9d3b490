// A remote OpenAI-compatible engine (vLLM, Ollama, llama.cpp's server, another Jielong) as a
// source of answers: the same Generation a local model host gives (token events, stats at
// the end, cancel), over a streamed /v1/chat/completions. Every way it can fail — unreachable,
// a refused key, rate limits, server errors, a stream that stalls or is cut — becomes a
// ModelHostError with a code and a message a person can act on, and the text that arrived
// before a cut stays with the caller (it was streamed through onToken).
import { randomUUID } from 'node:crypto';
import { ModelHostError } from '../shared/model-host-error.ts';
import type { GenerationStats, HostErrorCode, HostEventOf, TokenCandidate } from '../shared/model-host-protocol.ts';
import type { Generation, GenerateOptions } from './model-host-client.ts';

export interface RemoteEndpoint {
  /** e.g. http://gpu-box:8000/v1 */
  baseUrl: string;
  apiKey: string | null;
  /** The model id on that server. */
  model: string;
  /** Send top_k, min_p and repetition_penalty (vLLM, llama.cpp, Jielong take them; OpenAI refuses them). */
  samplingExtensions?: boolean;
  /** The model's context length, when the server said it. */
  contextLength?: number | null;
}

export interface RemoteOptions {
  /** No byte for this long mid-answer, or before the answer starts: the stream counts as cut. */
  stallMs?: number;
  fetch?: typeof fetch;
}

const DEFAULT_STALL_MS = 60_000;

export function remoteError(code: HostErrorCode, message: string, partialText?: string): ModelHostError {
  return new ModelHostError(code, message, partialText);
}

/** What an HTTP error from the server means, with the server's own message when it sent one. */
async function httpFailure(response: Response, baseUrl: string): Promise<ModelHostError> {
  let detail = '';
  try {
    const text = await response.text();
    try {
      const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
      const message = typeof body.error === 'string' ? body.error : (body.error?.message ?? body.message);
      detail = typeof message === 'string' ? message : text;
    } catch {
      detail = text;
    }
  } catch {
    // no body
  }
  detail = detail.trim().slice(0, 300);
  const said = detail ? `: ${detail}` : '';
  const status = response.status;
  if (status === 401 || status === 403) return remoteError('remote_unauthorized', `${baseUrl} refused the API key (${status})${said}. Check the key in the remote model's settings.`);
  if (status === 429) {
    const retry = response.headers.get('retry-after');
    return remoteError('remote_rate_limited', `${baseUrl} is busy or rate-limited (429)${retry ? `: retry in ${retry} s` : ''}${said}`);
  }
  if (status === 404) return remoteError('remote_failed', `${baseUrl} does not know this model or endpoint (404)${said}`);
  if (status >= 500) return remoteError('remote_failed', `${baseUrl} failed (${status} ${response.statusText})${said}`);
  return remoteError('remote_failed', `${baseUrl} refused the request (${status})${said}`);
}

function unreachable(baseUrl: string, error: unknown): ModelHostError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return remoteError('remote_unreachable', `Could not reach ${baseUrl} (${why}). Check the address and that the server is running.`);
}

function headers(endpoint: RemoteEndpoint): Record<string, string> {
  return { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...(endpoint.apiKey ? { Authorization: `Bearer ${endpoint.apiKey}` } : {}) };
}

function url(endpoint: RemoteEndpoint, path: string): string {
  return `${endpoint.baseUrl.replace(/\/+$/, '')}${path}`;
}

/** The connection test: the server's models (ids), or a ModelHostError saying why not. */
export async function listRemoteModels(endpoint: Pick<RemoteEndpoint, 'baseUrl' | 'apiKey'>, options: RemoteOptions = {}): Promise<Array<{ id: string; contextLength: number | null }>> {
  const doFetch = options.fetch ?? fetch;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.stallMs ?? 15_000);
  let response: Response;
  try {
    response = await doFetch(url({ ...endpoint, model: '' }, '/models'), { headers: headers({ ...endpoint, model: '' }), signal: controller.signal });
  } catch (error) {
    throw controller.signal.aborted ? remoteError('remote_unreachable', `${endpoint.baseUrl} did not answer within ${Math.round((options.stallMs ?? 15_000) / 1000)} s`) : unreachable(endpoint.baseUrl, error);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) throw await httpFailure(response, endpoint.baseUrl);
  const body = (await response.json().catch(() => null)) as { data?: Array<{ id?: unknown; context_length?: unknown; max_model_len?: unknown }> } | null;
  if (!body || !Array.isArray(body.data)) throw remoteError('remote_failed', `${endpoint.baseUrl}/models did not answer with an OpenAI-style model list: is this an OpenAI-compatible /v1 address?`);
  return body.data
    .filter((m) => typeof m.id === 'string')
    .map((m) => {
      const context = typeof m.context_length === 'number' ? m.context_length : typeof m.max_model_len === 'number' ? m.max_model_len : null;
      return { id: m.id as string, contextLength: context };
    });
}

interface StreamChunk {
  choices?: Array<{
    delta?: { content?: string | null };
    finish_reason?: string | null;
    logprobs?: { content?: Array<{ token: string; logprob: number; top_logprobs?: Array<{ token: string; logprob: number }> }> | null } | null;
  }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
  timings?: { prefill_tokens_per_second?: number; cached_tokens?: number } | null;
  error?: { message?: string } | string;
}

/** Streams one answer from the remote engine. */
export function generateRemote(endpoint: RemoteEndpoint, options: GenerateOptions, remote: RemoteOptions = {}): Generation {
  const requestId = randomUUID();
  const controller = new AbortController();
  let cancelled = false;
  const stallMs = remote.stallMs ?? DEFAULT_STALL_MS;
  const done = run();
  return {
    requestId,
    done,
    cancel: () => {
      cancelled = true;
      controller.abort();
    },
  };

  async function run(): Promise<GenerationStats> {
    const doFetch = remote.fetch ?? fetch;
    const { params } = options;
    const candidates = options.candidates ?? 0;
    const started = performance.now();
    let text = '';
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        controller.abort();
      }, stallMs);
    };
    const body = {
      model: endpoint.model,
      ...(options.prompt !== undefined ? {} : { messages: options.messages }),
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: params.maxNewTokens,
      temperature: params.temperature,
      top_p: params.topP,
      ...(params.seed !== undefined ? { seed: params.seed } : {}),
      ...(candidates > 0 ? { logprobs: true, top_logprobs: candidates } : {}),
      ...(endpoint.samplingExtensions ? { top_k: params.topK, min_p: params.minP, repetition_penalty: params.repetitionPenalty } : {}),
    };
    if (options.prompt !== undefined) throw remoteError('remote_failed', 'A raw prompt cannot be sent to a remote chat model');

    let response: Response;
    arm();
    try {
      response = await doFetch(url(endpoint, '/chat/completions'), { method: 'POST', headers: headers(endpoint), body: JSON.stringify(body), signal: controller.signal });
    } catch (error) {
      clearTimeout(timer);
      if (cancelled) return stats('cancelled');
      if (stalled) throw remoteError('remote_unreachable', `${endpoint.baseUrl} did not answer within ${Math.round(stallMs / 1000)} s`);
      throw unreachable(endpoint.baseUrl, error);
    }
    if (!response.ok) {
      clearTimeout(timer);
      throw await httpFailure(response, endpoint.baseUrl);
    }
    if (!response.body) throw remoteError('remote_failed', `${endpoint.baseUrl} answered without a body`);

    let firstTokenAt = 0;
    let finish: string | null = null;
    let usage: StreamChunk['usage'] = null;
    let timings: StreamChunk['timings'] = null;
    let sawDone = false;
    let tokens = 0;

    const emit = (event: Omit<HostEventOf<'token'>, 'type' | 'requestId'>): void => {
      tokens++;
      if (!firstTokenAt) firstTokenAt = performance.now();
      text += event.text;
      options.onToken?.({ type: 'token', requestId, ...event });
    };
    const handle = (data: string): void => {
      if (data === '[DONE]') {
        sawDone = true;
        return;
      }
      let chunk: StreamChunk;
      try {
        chunk = JSON.parse(data) as StreamChunk;
      } catch {
        throw remoteError('remote_failed', `${endpoint.baseUrl} sent something that is not JSON in its stream`, text);
      }
      if (chunk.error) {
        const message = typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? 'unknown error');
        throw remoteError('remote_stream_cut', `${endpoint.baseUrl} stopped the answer with an error: ${message}`, text);
      }
      if (chunk.usage) usage = chunk.usage;
      if (chunk.timings) timings = chunk.timings;
      const choice = chunk.choices?.[0];
      if (!choice) return;
      const content = choice.delta?.content ?? '';
      const logprobs = choice.logprobs?.content ?? null;
      if (logprobs && logprobs.length > 0 && logprobs.map((t) => t.token).join('') === content) {
        // The server's own tokens and probabilities, as the token view shows them.
        for (const token of logprobs) {
          const top: TokenCandidate[] = (token.top_logprobs ?? []).map((c, index) => ({ tokenId: index, text: c.token, probability: clampProbability(Math.exp(c.logprob)) }));
          emit({ text: token.token, tokenId: 0, probability: clampProbability(Math.exp(token.logprob)), ...(top.length > 0 ? { candidates: top } : {}) });
        }
      } else if (content) {
        emit({ text: content, tokenId: 0, probability: 0 });
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    };

    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        arm();
        buffer += decoder.decode(value, { stream: true });
        let boundary: RegExpExecArray | null;
        while ((boundary = /\r?\n\r?\n/.exec(buffer))) {
          const event = buffer.slice(0, boundary.index);
          buffer = buffer.slice(boundary.index + boundary[0].length);
          const data = event
            .split(/\r?\n/)
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).replace(/^ /, ''))
            .join('\n');
          if (data) handle(data);
        }
        if (sawDone) break;
      }
    } catch (error) {
      if (cancelled) return stats('cancelled');
      if (error instanceof ModelHostError) throw error;
      if (stalled) throw remoteError('remote_stream_cut', `${endpoint.baseUrl} stopped sending for ${Math.round(stallMs / 1000)} s in the middle of the answer; what arrived is kept`, text);
      throw remoteError('remote_stream_cut', `The connection to ${endpoint.baseUrl} was cut in the middle of the answer; what arrived is kept`, text);
    } finally {
      clearTimeout(timer);
      reader.releaseLock();
    }
    if (cancelled) return stats('cancelled');
    if (!sawDone && finish === null) {
      throw remoteError('remote_stream_cut', `The connection to ${endpoint.baseUrl} closed in the middle of the answer; what arrived is kept`, text);
    }
    return stats(finish === 'length' ? 'max_tokens' : 'eos');

    function stats(stopReason: GenerationStats['stopReason']): GenerationStats {
      const now = performance.now();
      const first = firstTokenAt || now;
      const decodeTokens = usage?.completion_tokens ?? tokens;
      const promptTokens = usage?.prompt_tokens ?? 0;
      const cachedTokens = usage?.prompt_tokens_details?.cached_tokens ?? timings?.cached_tokens ?? 0;
      const decodeMs = now - first;
      return {
        promptTokens,
        cachedTokens: Math.min(cachedTokens, promptTokens),
        prefillMs: first - started,
        timeToFirstTokenMs: first - started,
        decodeTokens,
        decodeTokensPerSecond: decodeTokens > 1 && decodeMs > 0 ? ((decodeTokens - 1) * 1000) / decodeMs : 0,
        prefillTokensPerSecond: timings?.prefill_tokens_per_second ?? (first > started && promptTokens > 0 ? (promptTokens * 1000) / (first - started) : 0),
        stopReason,
        seed: params.seed ?? 0,
        droppedMessages: 0,
        contextLength: endpoint.contextLength && endpoint.contextLength > 0 ? endpoint.contextLength : 1,
      };
    }
  }
}

function clampProbability(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
