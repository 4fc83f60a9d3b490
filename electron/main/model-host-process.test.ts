import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { ModelHostClient } from '../services/model-host-client.ts';
import type { HostRequest } from '../shared/model-host-protocol.ts';
import { MODEL_HOST_SERVICE_NAME, utilityHostSpawner, type UtilityForkOptions, type UtilityProcessLike } from './model-host-process.ts';

class FakeUtilityProcess extends EventEmitter implements UtilityProcessLike {
  pid: number | undefined = 4321;
  stdout = new PassThrough();
  stderr = new PassThrough();
  posted: unknown[] = [];
  killed = 0;
  postMessage(message: unknown): void {
    this.posted.push(message);
  }
  kill(): boolean {
    this.killed += 1;
    return true;
  }
  /** What the host would post through process.parentPort. */
  reply(message: unknown): void {
    this.emit('message', message);
  }
}

function setup(options: { stdio?: 'inherit' | 'pipe' | 'ignore'; env?: Record<string, string> } = {}) {
  const children: FakeUtilityProcess[] = [];
  const forks: Array<{ modulePath: string; args: string[]; options: UtilityForkOptions }> = [];
  const output: Array<[string, string]> = [];
  const log = vi.fn();
  const spawn = utilityHostSpawner({
    fork: (modulePath, args, forkOptions) => {
      forks.push({ modulePath, args, options: forkOptions });
      const child = new FakeUtilityProcess();
      children.push(child);
      return child;
    },
    entry: '/app/resources/app.asar/electron/model-host.cjs',
    ...options,
    onOutput: (stream, text) => output.push([stream, text]),
    log,
  });
  return { spawn, children, forks, output, log };
}

const loadedInfo = {
  modelDir: '/models/tiny',
  dtype: 'fp32',
  device: 'cpu',
  contextLength: 256,
  vocabSize: 260,
  loadMs: 12,
  rssBytes: 1,
  modelFileBytes: 2,
  graph: { style: 'optimum', attentionOp: 'MatMul+Softmax', kvDtype: 'float32', logitsDtype: 'float32', externalData: false, inputs: ['input_ids'] },
} as const;

describe('utilityHostSpawner', () => {
  it('forks the entry with the service name, no arguments, and the chosen stdio', () => {
    const { spawn, forks } = setup({ env: { JIELONG_X: '1' } });
    spawn();
    expect(forks).toEqual([
      { modulePath: '/app/resources/app.asar/electron/model-host.cjs', args: [], options: { serviceName: MODEL_HOST_SERVICE_NAME, stdio: 'inherit', env: { JIELONG_X: '1' } } },
    ]);
    expect(MODEL_HOST_SERVICE_NAME).toBe('Jielong model host');
  });

  it('maps send/onMessage/onExit/kill/pid onto postMessage and the message/exit events', () => {
    const { spawn, children } = setup();
    const host = spawn();
    const child = children[0]!;
    expect(host.pid).toBe(4321);
    const messages: unknown[] = [];
    const exits: Array<[number | null, string | null]> = [];
    host.onMessage((message) => messages.push(message));
    host.onExit((code, signal) => exits.push([code, signal]));

    const request: HostRequest = { type: 'unload', requestId: 'r1' };
    host.send(request);
    expect(child.posted).toEqual([request]);
    child.reply({ type: 'unloaded', requestId: 'r1' });
    expect(messages).toEqual([{ type: 'unloaded', requestId: 'r1' }]);

    host.kill();
    expect(child.killed).toBe(1);
    child.emit('exit', 15);
    expect(exits).toEqual([[15, null]]);
    // After the exit: nothing is posted and kill is a no-op.
    host.send({ type: 'unload', requestId: 'r2' });
    host.kill();
    expect(child.posted).toHaveLength(1);
    expect(child.killed).toBe(1);
  });

  it('logs (does not throw) when posting fails, and reports fatal errors', () => {
    const { spawn, children, log } = setup();
    const host = spawn();
    children[0]!.postMessage = () => {
      throw new Error('channel closed');
    };
    expect(() => host.send({ type: 'unload', requestId: 'r' })).not.toThrow();
    expect(log).toHaveBeenCalledWith(expect.stringContaining('channel closed'));
    children[0]!.emit('error', 'FatalError', 'v8::OOM', 'report');
    expect(log).toHaveBeenCalledWith('FatalError in the model host at v8::OOM');
  });

  it("forwards the host's output when stdio is 'pipe'", () => {
    const { spawn, children, output } = setup({ stdio: 'pipe' });
    spawn();
    children[0]!.stdout.write('loading\n');
    children[0]!.stderr.write('warning\n');
    expect(output).toEqual([
      ['stdout', 'loading\n'],
      ['stderr', 'warning\n'],
    ]);
  });
});

describe('ModelHostClient over the utilityProcess adapter', () => {
  it('starts, loads and fails open requests with host_exited when the process dies', async () => {
    const { spawn, children } = setup();
    const client = new ModelHostClient(spawn);
    const started = client.start();
    const child = children[0]!;
    child.reply({ type: 'ready', pid: 4321 });
    expect(await started).toBe(4321);

    const loading = client.load({ modelDir: '/models/tiny', dtype: 'fp32' });
    await vi.waitFor(() => expect(child.posted).toHaveLength(1));
    const load = child.posted[0] as { type: string; requestId: string; device: string };
    expect(load).toMatchObject({ type: 'load', modelDir: '/models/tiny', dtype: 'fp32', device: 'cpu' });
    child.reply({ type: 'loaded', requestId: load.requestId, info: loadedInfo });
    expect(await loading).toEqual(loadedInfo);

    const unloading = client.unload();
    await vi.waitFor(() => expect(child.posted).toHaveLength(2));
    child.emit('exit', 9);
    await expect(unloading).rejects.toMatchObject({ code: 'host_exited' });
    expect(client.loaded).toBeNull();
  });

  it('restart kills the old process and forks a new one', async () => {
    const { spawn, children } = setup();
    const client = new ModelHostClient(spawn);
    const first = client.start();
    children[0]!.reply({ type: 'ready', pid: 1 });
    await first;
    const second = client.restart();
    expect(children[0]!.killed).toBe(1);
    expect(children).toHaveLength(2);
    children[1]!.reply({ type: 'ready', pid: 2 });
    expect(await second).toBe(2);
  });
});
