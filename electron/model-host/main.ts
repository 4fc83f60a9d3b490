// Entry of the model host process. The same code runs as an Electron utilityProcess
// (messages on process.parentPort) and as a Node child from child_process.fork (messages on
// process.send / 'message'): the tests and the browser host use the latter.
import type { HostEvent } from '../shared/model-host-protocol.ts';
import { runModelHost, type HostPort } from './host.ts';

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

function connect(): HostPort {
  const parentPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (parentPort) {
    return {
      post: (event: HostEvent) => parentPort.postMessage(event),
      onMessage: (handler) => parentPort.on('message', (event) => handler(event.data)),
    };
  }
  if (process.send) {
    // The parent is gone: nobody can receive our output, so stop rather than linger.
    process.on('disconnect', () => process.exit(0));
    return {
      post: (event: HostEvent) => process.send?.(event),
      onMessage: (handler) => process.on('message', handler),
    };
  }
  throw new Error('The model host must be started by Jielong (utilityProcess.fork or child_process.fork)');
}

runModelHost(connect());
