// Hub addressing: which host (setting, environment, default), repository ids and revisions,
// URL encoding, and the redirect the hub answers LFS files with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubServer } from '../../../scripts/testing/hub-server.ts';
import { DownloadError } from './download-error.ts';
import { nodeHttpGet, readBody } from './http-transport.ts';
import { DEFAULT_HUB_HOST, normalizeHubHost, resolveHubHost, resolveUrl, validateRepoId, validateRevision } from './hub.ts';

describe('hub host', () => {
  it('setting, then JIELONG_HUB_HOST, then HF_ENDPOINT, then huggingface.co', () => {
    const env = { JIELONG_HUB_HOST: 'https://mirror.example/hf/', HF_ENDPOINT: 'https://hf-mirror.example' };
    expect(resolveHubHost('http://127.0.0.1:8080', env)).toBe('http://127.0.0.1:8080');
    expect(resolveHubHost('', env)).toBe('https://mirror.example/hf');
    expect(resolveHubHost(null, { HF_ENDPOINT: 'https://hf-mirror.example' })).toBe('https://hf-mirror.example');
    expect(resolveHubHost(undefined, {})).toBe(DEFAULT_HUB_HOST);
  });

  it.each([
    ['not a url', /not a URL/],
    ['ftp://hub.example', /must be an http\(s\) URL/],
    ['https://user:pw@hub.example', /user name or password/],
    ['https://hub.example/?x=1', /query or a fragment/],
  ])('refuses %s', (value, message) => {
    expect(() => normalizeHubHost(value)).toThrow(DownloadError);
    expect(() => normalizeHubHost(value)).toThrow(message);
  });
});

describe('repository ids, revisions and URLs', () => {
  it.each(['onnx-community/Qwen2.5-0.5B-Instruct', 'HuggingFaceTB/SmolLM2-135M-Instruct', 'a/b'])('accepts %s', (id) => {
    expect(validateRepoId(` ${id} `)).toBe(id);
  });
  it.each(['', 'no-slash', 'a/b/c', '../x', 'a/..', 'a/-b', 'a--b/c', 'a/b c', 'a/b?x'])('refuses "%s"', (id) => {
    expect(() => validateRepoId(id)).toThrow(/is not a Hugging Face repository id/);
  });
  it('revisions: branches, tags, commits; no traversal', () => {
    expect(validateRevision('main')).toBe('main');
    expect(validateRevision('refs/pr/1')).toBe('refs/pr/1');
    expect(validateRevision('5a33ba103645800d7b3790c4448546c1b73efc71')).toHaveLength(40);
    expect(() => validateRevision('../main')).toThrow(/not a branch, tag or commit/);
    expect(() => validateRevision('a b')).toThrow(/not a branch, tag or commit/);
  });
  it('builds {host}/{repo}/resolve/{revision}/{file} with each part encoded', () => {
    expect(resolveUrl('https://huggingface.co', 'org/m', 'refs/pr/1', 'onnx/model q4.onnx')).toBe('https://huggingface.co/org/m/resolve/refs%2Fpr%2F1/onnx/model%20q4.onnx');
  });
});

describe('nodeHttpGet against the test hub', () => {
  let hub: HubServer;
  beforeAll(async () => {
    hub = await HubServer.start();
    hub.addRepoFiles('org/model', { 'config.json': '{"model_type":"llama"}', 'onnx/model.onnx': Buffer.alloc(5000, 7) });
  });
  afterAll(() => hub.close());

  it('follows the hub redirect of an LFS file and keeps the hub headers (X-Linked-ETag) apart', async () => {
    const file = hub.repos.get('org/model')!.files.get('onnx/model.onnx')!;
    const response = await nodeHttpGet()(resolveUrl(hub.url, 'org/model', 'main', 'onnx/model.onnx'), { headers: { range: 'bytes=4000-' } });
    expect(response.status).toBe(206);
    expect(response.url).toContain(`/_cdn/${file.sha256}`);
    expect(response.firstHeaders['x-linked-etag']).toBe(`"${file.sha256}"`);
    expect(response.firstHeaders['x-repo-commit']).toBe(hub.repos.get('org/model')!.commit);
    expect(response.headers['content-range']).toBe('bytes 4000-4999/5000');
    expect((await readBody(response, 10_000)).length).toBe(1000);
  });

  it('a refused connection is a network error, and an abort stops the request', async () => {
    await expect(nodeHttpGet()('http://127.0.0.1:1/x', { idleTimeoutMs: 2000 })).rejects.toThrow(/127\.0\.0\.1:1/);
    const controller = new AbortController();
    controller.abort();
    await expect(nodeHttpGet()(`${hub.url}/org/model/resolve/main/config.json`, { signal: controller.signal })).rejects.toThrow(/abort/i);
  });
});
