// Sizes as people read them, in one convention for the whole app: decimal (SI) units, 1 kB =
// 1000 bytes, as the Hugging Face hub, the catalog and disk makers state sizes. The renderer
// formats the number in the UI language; the main side's messages use `formatByteSize`.

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;
export type ByteUnit = (typeof UNITS)[number];

/** `bytes` in the largest unit it reaches (below 1000 of the next one). */
export function byteSize(bytes: number): { value: number; unit: ByteUnit } {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return { value, unit: UNITS[unit]! };
}

/** How many decimals a size shows: one below 10 (1.5 GB), none above (512 MB), none for bytes. */
export function byteSizeDecimals(size: { value: number; unit: ByteUnit }): number {
  return size.unit !== 'B' && Math.abs(size.value) < 10 ? 1 : 0;
}

/** A size in plain English digits, for the main side's messages ("1.5 GB"). */
export function formatByteSize(bytes: number): string {
  const size = byteSize(bytes);
  return `${Number(size.value.toFixed(byteSizeDecimals(size)))} ${size.unit}`;
}
