// The registry on real folders: listing bundled and installed models (and never an incomplete
// one), importing a folder after the engine's checks, deleting with confirmation, the default.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeModel } from '../../scripts/make-model/make-model.ts';
import { DEMO_MODEL_DIR, makeBadModelFolders } from '../../scripts/testing/model-fixtures.ts';
import { sha256File } from '../model-files/file-hash.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import { ModelRegistry, ModelRegistryError } from './model-registry.ts';
import { MANIFEST_FILE, STAGING_DIR } from './model-registry-store.ts';
import type { RegistryEvent } from '../shared/model-registry-types.ts';

const BUNDLED_ROOT = path.dirname(DEMO_MODEL_DIR);
let work: { dir: string };
let modelsDir: string;

beforeEach(async () => {
  work = { dir: await mkdtemp(path.join(os.tmpdir(), 'jielong-registry-')) };
  modelsDir = path.join(work.dir, 'models');
  await mkdir(modelsDir);
});
afterEach(async () => {
  await rm(work.dir, { recursive: true, force: true });
});

async function expectRegistryError(promise: Promise<unknown>, code: string): Promise<ModelRegistryError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a ${code} ModelRegistryError`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelRegistryError);
  expect((error as ModelRegistryError).code).toBe(code);
  return error as ModelRegistryError;
}

describe('ModelRegistry', () => {
  it('lists the bundled models (the poet demo first), read-only, and nothing else in an empty models folder', async () => {
    const registry = new ModelRegistry({ modelsDir, bundledDirs: [BUNDLED_ROOT] });
    const models = await registry.list();
    expect(models.map((m) => m.id)).toEqual(['jielong-poet', 'jielong-tiny-random']);
    expect(models[1]).toMatchObject({ id: 'jielong-tiny-random', source: 'bundled', dtypes: ['fp32'], removable: false, contextLength: 2048, dir: DEMO_MODEL_DIR });
    expect(models[1]!.sizeBytes).toBeGreaterThan(500_000);
    await expectRegistryError(registry.remove('jielong-tiny-random', { confirm: true }), 'read_only');
    expect(await registry.resolve('jielong-tiny-random')).toEqual({ modelDir: DEMO_MODEL_DIR, dtype: 'fp32' });
    await expect(registry.resolve('nope')).rejects.toBeInstanceOf(ModelHostError);
  });

  it('imports an ONNX file that holds its weights inline as the graph plus a data file, leaving the source as it was', async () => {
    const registry = new ModelRegistry({ modelsDir, externalizeMinBytes: 0 });
    const source = path.join(work.dir, 'Inline');
    await cp(DEMO_MODEL_DIR, source, { recursive: true });
    const original = await sha256File(path.join(source, 'onnx', 'model.onnx'));
    const progress: number[] = [];
    const model = await registry.importFolder(source, { onProgress: (p) => progress.push(p.bytes) });
    expect(model.files.map((f) => f.path).sort()).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data', 'tokenizer.json', 'tokenizer_config.json']);
    for (const f of model.files) expect(f.sha256, f.path).toBe(await sha256File(path.join(model.dir, f.path)));
    expect(model.files.find((f) => f.path === 'onnx/model.onnx')!.sha256).not.toBe(original);
    expect(await sha256File(path.join(source, 'onnx', 'model.onnx'))).toBe(original);
    expect(await readdir(path.join(source, 'onnx'))).toEqual(['model.onnx']);
    // Progress counts the source's bytes, which the copy consumes whole.
    expect(progress.at(-1)).toBeGreaterThan(model.files.reduce((s, f) => s + f.size, 0) * 0.9);
    expect(model.dtypes).toEqual(['fp32']);
  });

  it('imports a valid folder: copies the files the engine needs, with hashes, and lists it', async () => {
    const registry = new ModelRegistry({ modelsDir });
    const events: RegistryEvent[] = [];
    registry.on((e) => events.push(e));
    const source = path.join(work.dir, 'My Model');
    await cp(DEMO_MODEL_DIR, source, { recursive: true });
    await writeFile(path.join(source, 'notes.txt'), 'not part of the model');
    const progress: number[] = [];
    const model = await registry.importFolder(source, { onProgress: (p) => progress.push(p.bytes) });
    expect(model).toMatchObject({ id: 'my-model', name: 'My Model', source: 'imported', dtypes: ['fp32'], origin: { kind: 'imported', from: source }, removable: true });
    expect(model.files.map((f) => f.path).sort()).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    for (const f of model.files) expect(f.sha256).toBe(await sha256File(path.join(source, f.path)));
    expect(progress.at(-1)).toBe(model.files.reduce((s, f) => s + f.size, 0));
    expect(await readdir(model.dir)).not.toContain('notes.txt');
    expect(events).toEqual([{ type: 'installed', model: expect.objectContaining({ id: 'my-model' }) }]);
    expect(await registry.resolve('my-model')).toEqual({ modelDir: path.join(modelsDir, 'my-model'), dtype: 'fp32' });

    // A second import of the same folder gets its own id.
    expect((await registry.importFolder(source)).id).toBe('my-model-2');
    // Nothing is left half-copied.
    expect(await readdir(path.join(modelsDir, STAGING_DIR))).toEqual([]);
  });

  it('imports every dtype of a folder and loads the one a CPU runs best', async () => {
    const registry = new ModelRegistry({ modelsDir });
    const source = path.join(work.dir, 'multi');
    await makeModel({ preset: 'tiny', dtype: ['fp32', 'q8', 'q4'], outDir: source });
    const model = await registry.importFolder(source, { name: 'Tiny, three ways' });
    expect(model.dtypes).toEqual(['q4', 'q8', 'fp32']);
    expect((await registry.resolve(model.id)).dtype).toBe('q4');
  });

  describe('refuses each bad folder from the engine issue with its reason, copying nothing', () => {
    it.each(['missing-onnx', 'truncated-onnx', 'garbage-onnx', 'lfs-pointer', 'missing-tokenizer', 'missing-tokenizer-config', 'layer-mismatch', 'missing-external-data', 'broken-chat-template', 'encoder-decoder-graph'])(
      '%s',
      async (name) => {
        const bad = await makeBadModelFolders();
        try {
          const folder = bad.folders.find((f) => f.name === name)!;
          const registry = new ModelRegistry({ modelsDir });
          const error = await expectRegistryError(registry.importFolder(folder.dir), 'invalid_model');
          expect(error.message).toMatch(folder.expect);
          expect(error.message).toContain(folder.dir);
          expect(await registry.list()).toEqual([]);
          expect((await readdir(modelsDir)).filter((f) => f !== STAGING_DIR)).toEqual([]);
          expect(await readdir(path.join(modelsDir, STAGING_DIR)).catch(() => [])).toEqual([]);
        } finally {
          await bad.cleanup();
        }
      },
    );

    it('no-chat-template: its own code, fixable by choosing one; nothing copied until then', async () => {
      const bad = await makeBadModelFolders();
      try {
        const folder = bad.folders.find((f) => f.name === 'no-chat-template')!;
        const registry = new ModelRegistry({ modelsDir });
        const error = await expectRegistryError(registry.importFolder(folder.dir), 'no_chat_template');
        expect(error.message).toBe(`${folder.dir} has no chat template: choose one to import it`);
        expect(await registry.list()).toEqual([]);
        const model = await registry.importFolder(folder.dir, { chatTemplate: { kind: 'builtIn', id: 'plain' } });
        expect(model.files.map((f) => f.path)).toContain('chat_template.jinja');
      } finally {
        await bad.cleanup();
      }
    });

    it('a path that is not a folder, a relative path, the models folder itself', async () => {
      const registry = new ModelRegistry({ modelsDir });
      // A local path that does not exist is not "not found on the hub": its own code and words.
      await expect(registry.importFolder(path.join(work.dir, 'nothing-here'))).rejects.toMatchObject({ code: 'folder_not_found', message: expect.stringMatching(/^There is no folder at /) });
      await expectRegistryError(registry.importFolder('relative/path'), 'invalid_request');
      await expectRegistryError(registry.importFolder(modelsDir), 'invalid_request');
    });
  });

  it('never lists a folder whose manifest and files disagree; says why', async () => {
    const registry = new ModelRegistry({ modelsDir });
    const model = await registry.importFolder(DEMO_MODEL_DIR);
    // A file deleted by hand.
    await rm(path.join(model.dir, 'tokenizer.json'));
    expect(await registry.list()).toEqual([]);
    expect(registry.unlistedFolders()).toEqual([{ dir: model.dir, reason: 'tokenizer.json is missing' }]);
    // A file of the wrong size.
    await cp(path.join(DEMO_MODEL_DIR, 'tokenizer.json'), path.join(model.dir, 'tokenizer.json'));
    await writeFile(path.join(model.dir, 'onnx', 'model.onnx'), 'short');
    expect(await registry.list()).toEqual([]);
    expect(registry.unlistedFolders()[0]!.reason).toMatch(/onnx\/model\.onnx has 5 bytes, not 525754/);
    // A folder without a manifest (a copy in progress, say).
    await mkdir(path.join(modelsDir, 'half-copied'));
    await registry.list();
    expect(registry.unlistedFolders().map((u) => u.reason)).toContain('no jielong.json');
    // A manifest that points outside the folder.
    const manifest = JSON.parse(await readFile(path.join(model.dir, MANIFEST_FILE), 'utf8')) as { files: { path: string }[] };
    manifest.files[0]!.path = '../../etc/passwd';
    await writeFile(path.join(model.dir, MANIFEST_FILE), JSON.stringify(manifest));
    await registry.list();
    expect(registry.unlistedFolders().map((u) => u.reason)).toContain('jielong.json lists an unsafe path: ../../etc/passwd');
  });

  it('deletes only with confirmation, and not the model in use', async () => {
    let inUse: string | null = null;
    const registry = new ModelRegistry({ modelsDir, isInUse: (id) => id === inUse });
    const model = await registry.importFolder(DEMO_MODEL_DIR);
    const plan = await registry.planRemoval(model.id);
    expect(plan).toEqual({ id: model.id, name: model.name, dir: model.dir, sizeBytes: model.sizeBytes, isDefault: false });
    expect((await expectRegistryError(registry.remove(model.id), 'confirmation_required')).message).toMatch(/cannot be undone/);
    inUse = model.id;
    await expectRegistryError(registry.remove(model.id, { confirm: true }), 'in_use');
    inUse = null;
    const events: RegistryEvent[] = [];
    registry.on((e) => events.push(e));
    await registry.remove(model.id, { confirm: true });
    expect(events).toEqual([{ type: 'removed', id: model.id }]);
    expect(await registry.list()).toEqual([]);
    expect(await readdir(modelsDir)).not.toContain(model.id);
    await expectRegistryError(registry.remove(model.id, { confirm: true }), 'not_found');
  });

  it('keeps a default model across instances, falls back when it is deleted, refuses an unknown id', async () => {
    const registry = new ModelRegistry({ modelsDir, bundledDirs: [BUNDLED_ROOT] });
    expect((await registry.getDefault())?.id).toBe('jielong-poet');
    const model = await registry.importFolder(DEMO_MODEL_DIR, { name: 'Imported demo' });
    await registry.setDefault(model.id);
    const again = new ModelRegistry({ modelsDir, bundledDirs: [BUNDLED_ROOT] });
    expect((await again.getDefault())?.id).toBe(model.id);
    expect((await again.list()).filter((m) => m.isDefault).map((m) => m.id)).toEqual([model.id]);
    await expectRegistryError(again.setDefault('no-such-model'), 'not_found');
    await again.remove(model.id, { confirm: true });
    expect((await again.getDefault())?.id).toBe('jielong-poet');
  });
});
