// Remote models' API keys at rest in the Electron app: encrypted with safeStorage (the OS
// keychain, DPAPI or libsecret) when it is available; where it is not (a Linux session with no
// keyring), kept as they are in a file only the user can read, as the browser host does.
// Each stored value says which, so a key saved either way can be read back.
import type { SecretCodec } from '../services/remote-models.ts';

/** What this needs of Electron's safeStorage. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

export function safeStorageCodec(safeStorage: SafeStorageLike): SecretCodec {
  return {
    encode: (secret) => (safeStorage.isEncryptionAvailable() ? `safe:${safeStorage.encryptString(secret).toString('base64')}` : `plain:${secret}`),
    decode: (stored) => {
      if (stored.startsWith('safe:')) return safeStorage.decryptString(Buffer.from(stored.slice(5), 'base64'));
      if (stored.startsWith('plain:')) return stored.slice(6);
      throw new Error('A stored key in an unknown form');
    },
  };
}
