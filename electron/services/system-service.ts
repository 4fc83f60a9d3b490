// Local facts about this computer for the Models screen ("fits in memory", "fits on disk"),
// and the native folder chooser where the shell has one. Nothing here touches the network.
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type { SystemInfo } from '../shared/chat-types.ts';

/** Free bytes for an unprivileged user on the disk holding `dir`. */
export async function freeDiskBytes(dir: string): Promise<number> {
  const info = await statfs(dir);
  return Number(info.bavail) * Number(info.bsize);
}

export class UnsupportedError extends Error {
  readonly code = 'unsupported';
}

export interface SystemServiceOptions {
  modelsDir: string;
  /** The hub host downloads would use now. */
  hubHost: () => string;
  /** The shell's native folder chooser (Electron's dialog); absent in the browser host. */
  chooseFolder?: (title: string) => Promise<string | null>;
  /** Tests: the figures of another machine. */
  memory?: () => { total: number; free: number };
  freeBytes?: (dir: string) => Promise<number>;
}

export class SystemService {
  constructor(private readonly options: SystemServiceOptions) {}

  async info(): Promise<SystemInfo> {
    const memory = this.options.memory?.() ?? { total: os.totalmem(), free: os.freemem() };
    const free = await (this.options.freeBytes ?? freeDiskBytes)(this.options.modelsDir).catch(() => null);
    return {
      totalMemoryBytes: memory.total,
      freeMemoryBytes: memory.free,
      modelsDir: this.options.modelsDir,
      freeDiskBytes: free,
      hubHost: this.options.hubHost(),
      canChooseFolder: this.options.chooseFolder !== undefined,
    };
  }

  async chooseFolder(title = 'Choose a model folder'): Promise<{ path: string | null }> {
    const choose = this.options.chooseFolder;
    if (!choose) throw new UnsupportedError('This window cannot open a folder chooser: type the folder path instead');
    return { path: await choose(title) };
  }
}
