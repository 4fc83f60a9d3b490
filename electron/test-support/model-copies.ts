// A copy of the bundled tiny model (written by npm run make:model) with its JSON files edited:
// a model that recommends its own sampling, one without a chat template.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TINY_MODEL_DIR = fileURLToPath(new URL('../../resources/models/jielong-tiny-random', import.meta.url));

export interface EditableModelFiles {
  generation: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  manifest: Record<string, unknown>;
}

/** Copies the tiny model to `dir` and lets `edit` change generation_config.json, tokenizer_config.json and jielong.json. */
export function editedTinyModel(dir: string, edit: (files: EditableModelFiles) => void): string {
  cpSync(TINY_MODEL_DIR, dir, { recursive: true });
  const names = { generation: 'generation_config.json', tokenizerConfig: 'tokenizer_config.json', manifest: 'jielong.json' } as const;
  const files = Object.fromEntries(Object.entries(names).map(([key, file]) => [key, JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>])) as unknown as EditableModelFiles;
  edit(files);
  for (const [key, file] of Object.entries(names)) writeFileSync(path.join(dir, file), JSON.stringify(files[key as keyof EditableModelFiles]));
  return dir;
}
