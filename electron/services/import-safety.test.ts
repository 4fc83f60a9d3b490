// Importing a hostile model folder: a named pipe, a device behind a symlink, a symlink out of
// the folder or in a loop, a 100 MB config.json, a JSON file holding someone else's text, a
// path that does not exist. Each is refused with a plain message that quotes nothing from the
// files, and the hostile imports, all at once, never stop the server answering other calls.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppServices, type AppServices } from './app-services.ts';

const DEMO_MODEL = fileURLToPath(new URL('../../resources/models/jielong-tiny-random', import.meta.url));
/** A line only /etc/passwd-like text has; it must never come back in a message. */
const SECRET = 'root:x:0:0:secret-marker-7d1f:/root:/bin/bash';
/** Hang detector for the batch of refusals (each is an lstat or a small read; they take milliseconds). */
const BOUND_MS = 2_000;

let root: string;
let app: AppServices;

function modelFolder(name: string, change: (dir: string) => void): string {
  const dir = path.join(root, name);
  fs.cpSync(DEMO_MODEL, dir, { recursive: true });
  fs.rmSync(path.join(dir, 'jielong.json'));
  change(dir);
  return dir;
}

const folders: Record<string, { dir: string; code: string; says: RegExp }> = {};

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'jielong-import-safety-'));
  fs.writeFileSync(path.join(root, 'passwd'), `${SECRET}\n`);
  app = createAppServices({
    dataDir: path.join(root, 'data'),
    bundledModelsDir: path.join(root, 'none'),
    spawnHost: () => {
      throw new Error('not needed');
    },
  });
  const add = (name: string, code: string, says: RegExp, change: (dir: string) => void) => {
    folders[name] = { dir: modelFolder(name, change), code, says };
  };
  add('fifo', 'unsafe_folder', /config\.json is a named pipe/, (dir) => {
    fs.rmSync(path.join(dir, 'config.json'));
    execFileSync('mkfifo', [path.join(dir, 'config.json')]);
  });
  add('device', 'unsafe_folder', /tokenizer\.json is a symbolic link to something outside/, (dir) => {
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'tokenizer.json'));
  });
  add('outside', 'unsafe_folder', /tokenizer_config\.json is a symbolic link to something outside/, (dir) => {
    fs.rmSync(path.join(dir, 'tokenizer_config.json'));
    fs.symlinkSync(path.join(root, 'passwd'), path.join(dir, 'tokenizer_config.json'));
  });
  add('loop', 'unsafe_folder', /symbolic link that leads nowhere \(or in a loop\)/, (dir) => {
    fs.symlinkSync(path.join(dir, 'b'), path.join(dir, 'a'));
    fs.symlinkSync(path.join(dir, 'a'), path.join(dir, 'b'));
  });
  add('huge', 'unsafe_folder', /config\.json is 105 MB, more than the 4\.2 MB/, (dir) => {
    fs.truncateSync(path.join(dir, 'config.json'), 100 * 1024 * 1024);
  });
  add('not-json', 'invalid_model', /^tokenizer_config\.json is not valid JSON\.$/, (dir) => {
    fs.copyFileSync(path.join(root, 'passwd'), path.join(dir, 'tokenizer_config.json'));
  });
  add('broken-template', 'invalid_model', /chat template \(in tokenizer_config\.json\) cannot be used: it has a syntax error/, (dir) => {
    const file = path.join(dir, 'tokenizer_config.json');
    const config = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    config['chat_template'] = '{% for message in messages %}{{ message.content }}';
    fs.writeFileSync(file, JSON.stringify(config));
  });
  folders['missing'] = { dir: path.join(root, 'no-such-folder'), code: 'folder_not_found', says: /^There is no folder at / };
});

afterAll(async () => {
  await app.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('importing a hostile model folder', () => {
  it('refuses each, all at once, with a plain message, while other calls are answered', async () => {
    const names = Object.keys(folders);
    const imports = names.map((name) => app.dispatch('models.import', { path: folders[name]!.dir }));
    const others = [app.dispatch('conversations.list', {}), app.dispatch('settings.get', {}), app.dispatch('models.list', {})];
    const all = Promise.all([...imports, ...others]);
    const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), BOUND_MS).unref());
    expect(await Promise.race([all.then(() => 'done' as const), hung])).toBe('done');
    const results = await all;
    for (const [index, name] of names.entries()) {
      const result = results[index]!;
      const { code, says } = folders[name]!;
      expect(result.ok, name).toBe(false);
      if (result.ok) continue;
      expect(result.error.code, name).toBe(code);
      expect(result.error.message, name).toMatch(says);
      expect(result.error.message, name).not.toContain('secret-marker');
      expect(result.error.message, name).not.toMatch(/hub|Something went wrong/i);
    }
    for (const other of results.slice(names.length)) expect(other.ok).toBe(true);
    // Nothing was copied into the models folder.
    const installed = await app.dispatch('models.list', {});
    expect(installed.ok && installed.value).toEqual([]);
  });

  it('still imports a sound folder, with a link inside it to a file inside it', async () => {
    const dir = modelFolder('sound', (d) => {
      fs.renameSync(path.join(d, 'generation_config.json'), path.join(d, 'generation.real.json'));
      fs.symlinkSync(path.join(d, 'generation.real.json'), path.join(d, 'generation_config.json'));
    });
    const result = await app.dispatch('models.import', { path: dir });
    expect(result.ok ? null : result.error).toBeNull();
  });
});
