// Remote models: an OpenAI-compatible server's model, added by the user (base URL, API key,
// model id) and offered in the model picker beside the local ones, marked remote. The list
// lives in remote-models.json in the data folder; the keys apart from it, in remote-keys.json
// (only the user may read it) and, in the Electron app, encrypted with safeStorage. The
// network is used only when a remote model is tested or chosen.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { ModelHostError } from '../shared/model-host-error.ts';
import type { RemoteModel } from '../shared/remote-model-types.ts';
import { listRemoteModels, type RemoteEndpoint, type RemoteOptions } from './remote-engine.ts';

/** How keys are kept at rest: as they are (a file only the user can read), or encrypted (Electron's safeStorage). */
export interface SecretCodec {
  encode(secret: string): string;
  decode(stored: string): string;
}

export const PLAIN_SECRETS: SecretCodec = { encode: (secret) => secret, decode: (stored) => stored };

const storedSchema = z.array(
  z
    .object({
      id: z.string().regex(/^remote-[a-z0-9-]{1,100}$/),
      name: z.string().min(1).max(200),
      baseUrl: z.string().max(2048),
      model: z.string().min(1).max(256),
      samplingExtensions: z.boolean(),
      contextLength: z.number().int().min(1).nullable(),
      addedAt: z.string(),
    })
    .strict(),
);
const keysSchema = z.record(z.string(), z.string());

/** A base URL we accept: http(s), no credentials in it, no query or fragment; trailing slashes dropped. */
export function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ModelHostError('invalid_request', `${raw.slice(0, 200)} is not a URL: give the server's OpenAI-compatible base address, e.g. http://gpu-box:8000/v1`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ModelHostError('invalid_request', 'The base URL must start with http:// or https://');
  if (url.username || url.password) throw new ModelHostError('invalid_request', 'Put the API key in its own field, not in the URL');
  if (url.search || url.hash) throw new ModelHostError('invalid_request', 'The base URL must not have a query (?…) or a fragment (#…)');
  return url.toString().replace(/\/+$/, '');
}

export class RemoteModelStore {
  private readonly listFile: string;
  private readonly keysFile: string;

  constructor(
    dataDir: string,
    private readonly secrets: SecretCodec = PLAIN_SECRETS,
    private readonly remote: RemoteOptions = {},
  ) {
    this.listFile = path.join(dataDir, 'remote-models.json');
    this.keysFile = path.join(dataDir, 'remote-keys.json');
  }

  list(): RemoteModel[] {
    const keys = this.readKeys();
    return this.read().map((m) => ({ ...m, hasKey: Object.hasOwn(keys, m.id) }));
  }

  has(id: string): boolean {
    return this.read().some((m) => m.id === id);
  }

  /** Where to send a chat for this remote model (the key decoded), or null for a local id. */
  endpoint(id: string): (RemoteEndpoint & { name: string }) | null {
    const model = this.read().find((m) => m.id === id);
    if (!model) return null;
    const stored = this.readKeys()[id];
    let apiKey: string | null = null;
    if (stored !== undefined) {
      try {
        apiKey = this.secrets.decode(stored);
      } catch {
        throw new ModelHostError('remote_unauthorized', `The API key of ${model.name} cannot be read on this machine any more: add the model again with its key`);
      }
    }
    return { baseUrl: model.baseUrl, apiKey, model: model.model, samplingExtensions: model.samplingExtensions, contextLength: model.contextLength, name: model.name };
  }

  /** The connection test: which models the server offers. */
  test(input: { baseUrl: string; apiKey?: string | null | undefined }): Promise<Array<{ id: string; contextLength: number | null }>> {
    return listRemoteModels({ baseUrl: normalizeBaseUrl(input.baseUrl), apiKey: input.apiKey || null }, this.remote);
  }

  /** Adds a model after checking that the server lists it. */
  async add(input: { name?: string | undefined; baseUrl: string; apiKey?: string | null | undefined; model: string; samplingExtensions?: boolean | undefined }): Promise<RemoteModel> {
    const baseUrl = normalizeBaseUrl(input.baseUrl);
    const offered = await this.test({ baseUrl, apiKey: input.apiKey ?? null });
    const found = offered.find((m) => m.id === input.model);
    if (!found) {
      const some = offered.slice(0, 10).map((m) => m.id).join(', ');
      throw new ModelHostError('model_not_found', `${baseUrl} does not offer ${input.model}${some ? `; it offers ${some}` : ''}`);
    }
    const id = `remote-${slug(input.model)}-${randomUUID().slice(0, 8)}`;
    const model = {
      id,
      name: input.name?.trim() || `${input.model} (${new URL(baseUrl).host})`,
      baseUrl,
      model: input.model,
      samplingExtensions: input.samplingExtensions ?? false,
      contextLength: found.contextLength,
      addedAt: new Date().toISOString(),
    };
    if (input.apiKey) this.writeKeys({ ...this.readKeys(), [id]: this.secrets.encode(input.apiKey) });
    this.write([...this.read(), model]);
    return { ...model, hasKey: Boolean(input.apiKey) };
  }

  remove(id: string): void {
    const models = this.read();
    if (!models.some((m) => m.id === id)) throw new ModelHostError('model_not_found', `No remote model ${id}`);
    this.write(models.filter((m) => m.id !== id));
    const keys = this.readKeys();
    delete keys[id];
    this.writeKeys(keys);
  }

  private read(): z.infer<typeof storedSchema> {
    try {
      return storedSchema.parse(JSON.parse(readFileSync(this.listFile, 'utf8')));
    } catch {
      return [];
    }
  }

  private readKeys(): Record<string, string> {
    try {
      return keysSchema.parse(JSON.parse(readFileSync(this.keysFile, 'utf8')));
    } catch {
      return {};
    }
  }

  private write(models: z.infer<typeof storedSchema>): void {
    writeAtomically(this.listFile, `${JSON.stringify(models, null, 2)}\n`, 0o644);
  }

  private writeKeys(keys: Record<string, string>): void {
    writeAtomically(this.keysFile, `${JSON.stringify(keys)}\n`, 0o600);
  }
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'model'
  );
}

function writeAtomically(file: string, text: string, mode: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomUUID()}.tmp`;
  writeFileSync(temporary, text, { mode, flush: true });
  chmodSync(temporary, mode);
  renameSync(temporary, file);
}
