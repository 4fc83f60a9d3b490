// Test support: records every outgoing TCP connection a process opens (http, https, fetch and
// tls all end in net.Socket#connect). In a test process, installNetworkGuard() counts them; in
// a child (the model host), `--import` this file with JIELONG_NET_GUARD_LOG set and each
// attempt is appended to that file. Used to prove start-up and chatting make no request.
import { appendFileSync } from 'node:fs';
import net from 'node:net';

export const NET_GUARD_LOG_ENV = 'JIELONG_NET_GUARD_LOG';

export interface NetworkGuard {
  readonly attempts: string[];
  uninstall(): void;
}

function describeTarget(args: unknown[]): string {
  const [first, second] = args;
  if (Array.isArray(first)) return describeTarget(first as unknown[]);
  if (first && typeof first === 'object') {
    const o = first as { host?: string; port?: number; path?: string };
    return o.path ?? `${o.host ?? 'localhost'}:${o.port ?? '?'}`;
  }
  if (typeof first === 'number') return `${typeof second === 'string' ? second : 'localhost'}:${first}`;
  return String(first);
}

export function installNetworkGuard(onAttempt?: (target: string) => void): NetworkGuard {
  const attempts: string[] = [];
  const original = net.Socket.prototype.connect;
  // Runs for every connect; the original does the work.
  const patched = function (this: net.Socket, ...args: unknown[]) {
    const target = describeTarget(args);
    attempts.push(target);
    onAttempt?.(target);
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  };
  net.Socket.prototype.connect = patched as typeof original;
  return {
    attempts,
    uninstall() {
      if (net.Socket.prototype.connect === (patched as typeof original)) net.Socket.prototype.connect = original;
    },
  };
}

const log = process.env[NET_GUARD_LOG_ENV];
if (log) installNetworkGuard((target) => appendFileSync(log, `${process.pid} ${target}\n`));
