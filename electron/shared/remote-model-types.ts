// Remote models (an OpenAI-compatible server's model used as a chat source): what the UI sees.
// The API key never leaves the main side: only whether one is set.
import { z } from 'zod';

export interface RemoteModel {
  /** remote-…: never the id of a local model. */
  id: string;
  name: string;
  baseUrl: string;
  /** The model's id on that server. */
  model: string;
  /** top_k, min_p and repetition_penalty are sent (vLLM, llama.cpp, Jielong take them). */
  samplingExtensions: boolean;
  contextLength: number | null;
  addedAt: string;
  hasKey: boolean;
}

const baseUrl = z.string().trim().min(1, 'the base URL is required').max(2048);
const apiKey = z.string().max(4096).nullable().optional();

export const remoteCalls = {
  'remote.list': z.object({}).strict(),
  /** The connection test: the models the server lists. */
  'remote.test': z.object({ baseUrl, apiKey }).strict(),
  'remote.add': z
    .object({ name: z.string().trim().max(200).optional(), baseUrl, apiKey, model: z.string().trim().min(1, 'the model id is required').max(256), samplingExtensions: z.boolean().optional() })
    .strict(),
  'remote.remove': z.object({ id: z.string().min(1).max(200) }).strict(),
} as const;

export interface RemoteCallOutputs {
  'remote.list': RemoteModel[];
  'remote.test': { models: Array<{ id: string; contextLength: number | null }> };
  'remote.add': RemoteModel;
  'remote.remove': { removed: true };
}
