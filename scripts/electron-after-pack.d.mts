// Types for scripts/electron-after-pack.mjs (a plain ES module, so electron-builder can load it).
import type { FuseV1Config } from '@electron/fuses';

export interface AfterPackContext {
  appOutDir: string;
  electronPlatformName: string;
  /** electron-builder's Arch enum: ia32 0, x64 1, armv7l 2, arm64 3, universal 4. */
  arch: number;
  packager: { appInfo: { productFilename: string }; executableName: string };
}

export const FUSES: Readonly<FuseV1Config>;
export function electronBinaryPath(context: Omit<AfterPackContext, 'arch'>): string;
export function nativeModuleAbi(bytes: Uint8Array): number | 'napi' | null;
export function nativeModulesWithWrongAbi(dir: string, abi: number): Array<{ file: string; abi: number }>;
export function electronAbi(): number;
export function resourcesDir(context: Omit<AfterPackContext, 'arch'>): string;
export function beforeBuild(context: { appDir: string }): Promise<boolean>;
export default function afterPack(context: AfterPackContext, options?: { abi?: number }): Promise<void>;
