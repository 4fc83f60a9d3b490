// The OpenAI-compatible API server's settings and what the settings screen shows of it.
// Pure: the contract (settings, calls) and the services share these schemas.
import { z } from 'zod';

/** The port the API listens on unless the settings say otherwise. */
export const DEFAULT_API_PORT = 5859;

const origin = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^/\s?#]+$/, 'a CORS origin is scheme://host[:port], with nothing after it');

export const apiServerSettingsSchema = z
  .object({
    /** Off by default: nothing listens until the user turns it on. */
    enabled: z.boolean(),
    port: z.number().int('the API port must be a whole number').min(1, 'the API port must be 1 to 65535').max(65535, 'the API port must be 1 to 65535'),
    /** true: listen on every interface (0.0.0.0); needs an API key. false: 127.0.0.1 only. */
    allowNetwork: z.boolean(),
    /** SHA-256 (hex) of the API key; the key itself is shown once, when it is made. */
    keyHash: z.string().regex(/^[0-9a-f]{64}$/, 'keyHash is a SHA-256 in hex').nullable(),
    /** Browser pages of these origins may call the API (CORS); none by default. */
    corsOrigins: z.array(origin).max(20),
    /** Keep API chats as conversations in the sidebar (off: they are not stored). */
    storeConversations: z.boolean(),
  })
  .strict();
export type ApiServerSettings = z.infer<typeof apiServerSettingsSchema>;

export const DEFAULT_API_SERVER_SETTINGS: ApiServerSettings = {
  enabled: false,
  port: DEFAULT_API_PORT,
  allowNetwork: false,
  keyHash: null,
  corsOrigins: [],
  storeConversations: false,
};

/** One line of the request log the settings show (the last 100 requests). */
export interface ApiRequestLogEntry {
  /** ISO time the request arrived. */
  time: string;
  method: string;
  path: string;
  model: string | null;
  /** HTTP status answered (a stream that failed after it began: the status it began with, and `error`). */
  status: number;
  promptTokens: number | null;
  completionTokens: number | null;
  /** Decode speed, tokens per second. */
  tokensPerSecond: number | null;
  durationMs: number;
  error: string | null;
}

export interface ApiServerStatus {
  /** Listening now. */
  running: boolean;
  /** The base URL clients use (…/v1), when running. */
  baseUrl: string | null;
  /** Why it is not running though enabled (port taken, no key for network access). */
  error: string | null;
  hasKey: boolean;
  log: ApiRequestLogEntry[];
}
