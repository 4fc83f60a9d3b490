// What the Models screen says about a model before it is downloaded: will it fit in this
// computer's memory and disk, how big is the download (exact, approximate, or unknown), and
// how far a download has come. Pure: the figures come from the catalog and system.info.
import type { CatalogEntry, CatalogVariant, DownloadInfo } from '@shared/model-registry-types.ts';

export type MemoryFit = 'fits' | 'tight' | 'too-large' | 'unknown';

/** Up to half the memory leaves room for the OS and other apps; up to 80% runs, but tightly. */
export const FITS_SHARE = 0.5;
export const TIGHT_SHARE = 0.8;

export function memoryFit(ramEstimateBytes: number | null, totalMemoryBytes: number | null): MemoryFit {
  if (ramEstimateBytes === null || totalMemoryBytes === null || totalMemoryBytes <= 0) return 'unknown';
  if (ramEstimateBytes <= totalMemoryBytes * FITS_SHARE) return 'fits';
  if (ramEstimateBytes <= totalMemoryBytes * TIGHT_SHARE) return 'tight';
  return 'too-large';
}

/**
 * The catalog's planning figure for weights not in the catalog (resources/catalog/README.md):
 * the ONNX bytes twice (transformers.js and onnxruntime each hold a copy) plus 512 MiB.
 */
export function ramEstimateForWeights(onnxBytes: number): number {
  return 2 * onnxBytes + 512 * 1024 * 1024;
}

export interface DownloadSize {
  bytes: number;
  /** False when some file's size is the hub page's rounded figure, or a small file's size is unknown. */
  exact: boolean;
}

/**
 * The download size as far as the catalog knows it: exact when every file's size is verified;
 * approximate (the weights' figures) when the weights' sizes are known; null when they are not.
 */
export function variantDownloadSize(variant: CatalogVariant): DownloadSize | null {
  const weights = variant.files.filter((f) => f.path.startsWith('onnx/'));
  if (weights.length === 0 || weights.some((f) => f.size === null)) return null;
  const bytes = variant.files.reduce((sum, f) => sum + (f.size ?? 0), 0);
  const exact = variant.downloadBytes !== null && variant.files.every((f) => f.sizeVerified);
  return { bytes: variant.downloadBytes ?? bytes, exact };
}

/** Whether the download fits on the disk of the models folder; null when either figure is unknown. */
export function fitsOnDisk(size: DownloadSize | null, freeDiskBytes: number | null): boolean | null {
  if (!size || freeDiskBytes === null) return null;
  return size.bytes <= freeDiskBytes;
}

/** The variant to preselect: the smallest memory need that fits, else the smallest known, else the first. */
export function preferredVariant(entry: CatalogEntry, totalMemoryBytes: number | null): CatalogVariant {
  const known = entry.variants.filter((v) => v.ramEstimateBytes !== null).sort((a, b) => a.ramEstimateBytes! - b.ramEstimateBytes!);
  const fitting = known.find((v) => memoryFit(v.ramEstimateBytes, totalMemoryBytes) === 'fits');
  return fitting ?? known[0] ?? entry.variants[0]!;
}

/** 0..100, or null while the file list (and so the total) is not known yet. */
export function downloadPercent(download: Pick<DownloadInfo, 'bytesDone' | 'bytesTotal' | 'state'>): number | null {
  if (download.state === 'installed') return 100;
  if (download.bytesTotal === null || download.bytesTotal <= 0) return null;
  return Math.min(100, (download.bytesDone / download.bytesTotal) * 100);
}

/** Whether a download still holds a transfer slot or waits for one. */
export function isActiveDownload(download: Pick<DownloadInfo, 'state'>): boolean {
  return download.state === 'queued' || download.state === 'downloading' || download.state === 'verifying';
}

/** The files of a download checked by their size alone: the hub (a mirror) stated no sha256 and no git blob id for them. */
export function sizeOnlyFiles(download: Pick<DownloadInfo, 'files'>): string[] {
  return download.files.filter((f) => f.check === 'size').map((f) => f.path).sort();
}
