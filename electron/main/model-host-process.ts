// Starts the model host as an Electron utilityProcess: the app's counterpart of
// services/node-host-process.ts (child_process.fork), behind the same HostProcess interface
// the ModelHostClient speaks to. A utilityProcess is a Node process Chromium manages: it still
// works with the RunAsNode fuse off (child_process.fork of the Electron binary does not), and
// it appears under its service name in the OS task manager.
//
// Inside the host, messages arrive on process.parentPort (model-host/main.ts detects it);
// here they arrive as the 'message' event's argument, already structured-cloned.
import type { HostRequest } from '../shared/model-host-protocol.ts';
import type { HostProcess, SpawnHost } from '../services/model-host-client.ts';

export const MODEL_HOST_SERVICE_NAME = 'Jielong model host';

/** The parts of Electron's UtilityProcess the adapter uses. */
export interface UtilityProcessLike {
  readonly pid: number | undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  on(event: 'error', listener: (type: 'FatalError', location: string, report: string) => void): unknown;
  kill(): boolean;
}

export type HostStdio = 'inherit' | 'pipe' | 'ignore';

export interface UtilityForkOptions {
  serviceName: string;
  stdio: HostStdio;
  env?: Record<string, string>;
}

/** `(entry, args, options) => utilityProcess.fork(entry, args, options)`. */
export type ForkUtilityProcess = (modulePath: string, args: string[], options: UtilityForkOptions) => UtilityProcessLike;

export interface UtilityHostOptions {
  fork: ForkUtilityProcess;
  /** Absolute path of the bundled host entry (dist/electron/model-host.cjs, inside the asar when packaged). */
  entry: string;
  env?: Record<string, string>;
  /** 'pipe' sends the host's stdout/stderr to `onOutput` (default: the main process console). */
  stdio?: HostStdio;
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  log?: (message: string) => void;
}

export function utilityHostSpawner(options: UtilityHostOptions): SpawnHost {
  const stdio = options.stdio ?? 'inherit';
  const log = options.log ?? ((message: string) => console.error(`[model-host] ${message}`));
  const onOutput = options.onOutput ?? ((stream, text) => (stream === 'stderr' ? process.stderr : process.stdout).write(`[model-host] ${text}`));
  return (): HostProcess => {
    const child = options.fork(options.entry, [], {
      serviceName: MODEL_HOST_SERVICE_NAME,
      stdio,
      ...(options.env ? { env: options.env } : {}),
    });
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    child.on('error', (type, location) => log(`${type} in the model host at ${location}`));
    if (stdio === 'pipe') {
      child.stdout?.on('data', (chunk: Buffer | string) => onOutput('stdout', chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer | string) => onOutput('stderr', chunk.toString()));
    }
    return {
      get pid() {
        return child.pid;
      },
      send: (message: HostRequest) => {
        // A message to a process that is gone is dropped: the client learns of the exit
        // through onExit and fails the open requests with host_exited.
        if (exited) return;
        try {
          child.postMessage(message);
        } catch (error) {
          log(`could not post to the model host: ${error instanceof Error ? error.message : String(error)}`);
        }
      },
      onMessage: (listener) => {
        child.on('message', (message) => listener(message));
      },
      // utilityProcess reports an exit code only; a signal is not exposed.
      onExit: (listener) => {
        child.on('exit', (code) => listener(code, null));
      },
      kill: () => {
        if (!exited) child.kill();
      },
    };
  };
}
