import { describe, expect, it } from 'vitest';
import { safeStorageCodec, type SafeStorageLike } from './secret-codec.ts';

/** A stand-in for safeStorage: reversible, and visibly not the plain text. */
function fakeSafeStorage(available: boolean): SafeStorageLike {
  return {
    isEncryptionAvailable: () => available,
    encryptString: (text) => Buffer.from([...Buffer.from(text)].map((byte) => byte ^ 0x5a)),
    decryptString: (data) => Buffer.from([...data].map((byte) => byte ^ 0x5a)).toString(),
  };
}

describe('API keys of remote models at rest in the Electron app', () => {
  it('are encrypted with safeStorage when it is available', () => {
    const codec = safeStorageCodec(fakeSafeStorage(true));
    const stored = codec.encode('sk-secret-key');
    expect(stored).toMatch(/^safe:/);
    expect(stored).not.toContain('sk-secret-key');
    expect(Buffer.from(stored.slice(5), 'base64').toString()).not.toContain('sk-secret-key');
    expect(codec.decode(stored)).toBe('sk-secret-key');
  });

  it('are kept as they are (in the user-only file) where it is not, and still read back', () => {
    const plain = safeStorageCodec(fakeSafeStorage(false));
    expect(plain.encode('sk-secret-key')).toBe('plain:sk-secret-key');
    // A keyring that appears later still reads keys saved without it.
    expect(safeStorageCodec(fakeSafeStorage(true)).decode('plain:sk-secret-key')).toBe('sk-secret-key');
    expect(() => plain.decode('garbage')).toThrow(/unknown form/);
  });
});
