// The machine line every bench prints first: {"machine": {...}}, one JSON object on stdout.
// One owner, so the benches name the machine the same way (README: "and name the machine").
import fs from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memory_gib: number;
  memory_free_gib: number;
  platform: string;
  node: string;
  /** Other work on the machine inflates wall-clock figures: the 1, 5 and 15 minute load averages at start. */
  load_average: number[];
  [extra: string]: unknown;
}

export function machineInfo(extra: Record<string, unknown> = {}): MachineInfo {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line !== undefined) cpu = line.split(':')[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  return {
    cpu,
    cores: os.availableParallelism(),
    memory_gib: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    memory_free_gib: Number((os.freemem() / 2 ** 30).toFixed(1)),
    platform: `${os.platform()} ${os.release()} ${process.arch}`,
    node: process.version,
    load_average: os.loadavg().map((value) => Number(value.toFixed(2))),
    ...extra,
  };
}

/** Prints the machine line; `extra` adds what one bench also depends on (the SQLite version, the browser). */
export function printMachineLine(extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ machine: machineInfo(extra) }));
}
