// Starts the model host as a Node child process (child_process.fork). Used by the browser
// host, the tests and the benches; the Electron app uses utilityProcess instead.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HostRequest } from '../shared/model-host-protocol.ts';
import type { HostProcess, SpawnHost } from './model-host-client.ts';

/** The host's entry in this source tree (TypeScript, run through tsx). */
export const MODEL_HOST_SOURCE_ENTRY = fileURLToPath(new URL('../model-host/main.ts', import.meta.url));

export interface NodeHostOptions {
  entry?: string;
  /** Extra Node flags, e.g. to cap the heap. TypeScript entries get tsx's loader. */
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
}

export function nodeHostSpawner(options: NodeHostOptions = {}): SpawnHost {
  const entry = options.entry ?? MODEL_HOST_SOURCE_ENTRY;
  const execArgv = [...(entry.endsWith('.ts') ? ['--import', 'tsx'] : []), ...(options.execArgv ?? [])];
  return (): HostProcess => {
    const child = fork(entry, [], { execArgv, env: options.env ?? process.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return {
      get pid() {
        return child.pid;
      },
      send: (message: HostRequest) => {
        if (child.connected) child.send(message);
      },
      onMessage: (listener) => child.on('message', listener),
      onExit: (listener) => child.on('exit', (code, signal) => listener(code, signal)),
      kill: () => child.kill('SIGKILL'),
    };
  };
}
