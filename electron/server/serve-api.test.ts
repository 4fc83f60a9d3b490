// npm run serve -- --api: the OpenAI-compatible API for one run, its URL and key printed.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run serve -- --api', () => {
  it('prints the base URL and a key for this run; the key is required', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'jielong-serve-api-'));
    const run = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'electron/server/cli.ts'), ...args], { cwd: ROOT });
    const child = run(['--port', '0', '--data-dir', dataDir, '--no-model', '--renderer-dir', dataDir, '--api', '--api-port', '0']);
    try {
      const [baseUrl, key] = await new Promise<[string, string]>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk) => {
          out += chunk;
          const match = /OpenAI-compatible API at (http:\/\/127\.0\.0\.1:\d+\/v1) \(key for this run: (jl-\S+)\)/.exec(out);
          if (match) resolve([match[1]!, match[2]!]);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
      });
      const client = new OpenAI({ baseURL: baseUrl, apiKey: key, maxRetries: 0 });
      expect((await client.models.list()).data.map((m) => m.id)).toContain('jielong-tiny-random');
      await expect(new OpenAI({ baseURL: baseUrl, apiKey: 'jl-wrong', maxRetries: 0 }).models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    } finally {
      child.kill('SIGTERM');
    }

    const refused = run(['--port', '0', '--data-dir', dataDir, '--api-port', 'abc']);
    let stderr = '';
    refused.stderr.on('data', (chunk) => (stderr += chunk));
    expect(await new Promise<number | null>((resolve) => refused.once('exit', resolve))).toBe(2);
    expect(stderr).toMatch(/--api-port must be a whole number/);
    await rm(dataDir, { recursive: true, force: true });
  });
});
