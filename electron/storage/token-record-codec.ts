// The binary form of a token record (electron/shared/token-record.ts), about 45 bytes a token
// with 5 candidates. A record is one or more parts, one per committed batch, concatenated in
// order; each part carries the texts of the candidate ids no earlier part named, so a batch
// is self-contained and a record cut by a crash reads back up to its last committed batch.
//
// A part, little-endian:
//   u8 version (1) · u32 new texts · u32 tokens
//   per new text:  u24 token id · u8 UTF-8 length (255: a u16 length follows) · the UTF-8 bytes
//   per token:     u8 candidates · u8 which candidate was picked (0xff: none of them) · u16 text length
//                  (UTF-16 units) · u16 entropy · f32 decode ms · [when none: u24 id · u16 p · u16 model p]
//                  · per candidate: u24 id · u16 p · u16 model p
// The pick is nearly always among the candidates, so it costs one byte, not seven.
// Probabilities are whole steps of 1/65534 (0xffff: unknown), entropy steps of 1/2048 bit
// (0xffff: unknown), decode time a float32 (NaN: unknown).
import { ENTROPY_STEPS_PER_BIT, PROBABILITY_STEPS, type RecordedToken, type StoredToken } from '../shared/token-record.ts';
import { StorageError } from './errors.ts';

const VERSION = 1;
const UNKNOWN = 0xffff;
const MAX_ID = 0xffffff;
const PART_HEADER = 9;
const TOKEN_FIXED = 1 + 1 + 2 + 2 + 4;
const CANDIDATE_BYTES = 3 + 2 + 2;
const NOT_A_CANDIDATE = 0xff;
/** A text this long or longer has its length in the two bytes after this marker. */
const LONG_TEXT = 0xff;
/** Candidates a token may carry (the host sends at most 20). */
export const MAX_RECORDED_CANDIDATES = 254;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A token and the length of text it added, as the stream writer buffers it. */
export interface PendingToken {
  token: RecordedToken;
  textLength: number;
}

function invalid(message: string): StorageError {
  return new StorageError('INVALID_INPUT', `Invalid token record: ${message}`);
}

function probabilityBits(p: number | null): number {
  if (p === null) return UNKNOWN;
  if (!(p >= 0 && p <= 1)) throw invalid(`probability ${String(p)} is not in [0, 1]`);
  return Math.round(p * PROBABILITY_STEPS);
}

function entropyBits(bits: number | null): number {
  if (bits === null) return UNKNOWN;
  if (!(bits >= 0)) throw invalid(`entropy ${String(bits)} is not 0 or more`);
  return Math.min(UNKNOWN - 1, Math.round(bits * ENTROPY_STEPS_PER_BIT));
}

function checkId(id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw invalid(`token id ${String(id)} is not a whole number from 0 to ${MAX_ID}`);
  return id;
}

/**
 * Encodes batches of one message's tokens. It remembers which candidate texts earlier parts
 * hold, but only once the caller says a part was committed (`committed`): a part that failed
 * to commit is encoded again, whole, on the retry.
 */
export class TokenRecordEncoder {
  readonly #written = new Set<number>();

  /** Starts from a record already stored (a continued answer): its texts are not written again. */
  constructor(stored: readonly StoredToken[] = []) {
    for (const token of stored) for (const candidate of token.candidates) this.#written.add(candidate.tokenId);
  }

  encode(tokens: readonly PendingToken[]): { bytes: Uint8Array; newIds: number[] } {
    const texts = new Map<number, Uint8Array>();
    const picked = new Array<number>(tokens.length);
    let size = PART_HEADER;
    tokens.forEach(({ token, textLength }, index) => {
      if (!Number.isInteger(textLength) || textLength < 0 || textLength > 0xffff) throw invalid(`text length ${String(textLength)} is not a whole number from 0 to 65535`);
      if (token.candidates.length > MAX_RECORDED_CANDIDATES) throw invalid(`${token.candidates.length} candidates, at most ${MAX_RECORDED_CANDIDATES}`);
      const probability = probabilityBits(token.probability);
      const modelProbability = probabilityBits(token.modelProbability);
      const at = token.candidates.findIndex(
        (c) => c.tokenId === token.tokenId && probabilityBits(c.probability) === probability && probabilityBits(c.modelProbability) === modelProbability,
      );
      picked[index] = at < 0 ? NOT_A_CANDIDATE : at;
      size += TOKEN_FIXED + (at < 0 ? CANDIDATE_BYTES : 0) + CANDIDATE_BYTES * token.candidates.length;
      for (const candidate of token.candidates) {
        const id = checkId(candidate.tokenId);
        if (this.#written.has(id) || texts.has(id)) continue;
        const bytes = encoder.encode(candidate.text);
        if (bytes.length > 0xffff) throw invalid(`the text of token ${id} is longer than 65535 bytes`);
        texts.set(id, bytes);
        size += 4 + (bytes.length >= LONG_TEXT ? 2 : 0) + bytes.length;
      }
    });
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    let at = 0;
    const u24 = (value: number): void => {
      view.setUint16(at, value & 0xffff, true);
      view.setUint8(at + 2, value >>> 16);
      at += 3;
    };
    const u16 = (value: number): void => {
      view.setUint16(at, value, true);
      at += 2;
    };
    view.setUint8(at, VERSION);
    view.setUint32(at + 1, texts.size, true);
    view.setUint32(at + 5, tokens.length, true);
    at += PART_HEADER;
    for (const [id, bytes] of texts) {
      u24(id);
      view.setUint8(at, Math.min(bytes.length, LONG_TEXT));
      at += 1;
      if (bytes.length >= LONG_TEXT) u16(bytes.length);
      out.set(bytes, at);
      at += bytes.length;
    }
    tokens.forEach(({ token, textLength }, index) => {
      view.setUint8(at, token.candidates.length);
      view.setUint8(at + 1, picked[index]!);
      at += 2;
      u16(textLength);
      u16(entropyBits(token.entropyBits));
      view.setFloat32(at, token.decodeMs ?? NaN, true);
      at += 4;
      if (picked[index] === NOT_A_CANDIDATE) {
        u24(checkId(token.tokenId));
        u16(probabilityBits(token.probability));
        u16(probabilityBits(token.modelProbability));
      }
      for (const candidate of token.candidates) {
        u24(candidate.tokenId);
        u16(probabilityBits(candidate.probability));
        u16(probabilityBits(candidate.modelProbability));
      }
    });
    return { bytes: out, newIds: [...texts.keys()] };
  }

  /** The part holding these new texts is stored. */
  committed(newIds: readonly number[]): void {
    for (const id of newIds) this.#written.add(id);
  }
}

/** Bytes that are not a token record (a damaged row, a hand-edited export file). */
export class TokenRecordFormatError extends Error {
  constructor(message: string) {
    super(`The token record cannot be read: ${message}`);
    this.name = 'TokenRecordFormatError';
  }
}

function malformed(message: string): TokenRecordFormatError {
  return new TokenRecordFormatError(message);
}

/** Reads a record: one or more parts in order. Throws TokenRecordFormatError for bytes that are not one. */
export function decodeTokenRecord(bytes: Uint8Array): StoredToken[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const texts = new Map<number, string>();
  const tokens: StoredToken[] = [];
  let at = 0;
  const need = (count: number): void => {
    if (at + count > bytes.length) throw malformed(`it ends ${at + count - bytes.length} bytes early`);
  };
  const u24 = (): number => {
    const value = view.getUint16(at, true) | (view.getUint8(at + 2) << 16);
    at += 3;
    return value;
  };
  const u16 = (): number => {
    const value = view.getUint16(at, true);
    at += 2;
    return value;
  };
  const probability = (value: number): number | null => (value === UNKNOWN ? null : value / PROBABILITY_STEPS);
  while (at < bytes.length) {
    need(PART_HEADER);
    const version = view.getUint8(at);
    if (version !== VERSION) throw malformed(`part version ${version}, this app reads ${VERSION}`);
    const textCount = view.getUint32(at + 1, true);
    const tokenCount = view.getUint32(at + 5, true);
    at += PART_HEADER;
    for (let i = 0; i < textCount; i++) {
      need(4);
      const id = u24();
      let length = view.getUint8(at);
      at += 1;
      if (length === LONG_TEXT) {
        need(2);
        length = u16();
      }
      need(length);
      try {
        texts.set(id, decoder.decode(bytes.subarray(at, at + length)));
      } catch {
        throw malformed(`the text of token ${id} is not UTF-8`);
      }
      at += length;
    }
    for (let i = 0; i < tokenCount; i++) {
      need(TOKEN_FIXED);
      const count = view.getUint8(at);
      const pick = view.getUint8(at + 1);
      at += 2;
      const textLength = u16();
      const entropy = u16();
      const decodeMs = view.getFloat32(at, true);
      at += 4;
      if (pick !== NOT_A_CANDIDATE && pick >= count) throw malformed(`a token picks candidate ${pick} of ${count}`);
      need(CANDIDATE_BYTES * (count + (pick === NOT_A_CANDIDATE ? 1 : 0)));
      let tokenId = 0;
      let p: number | null = 0;
      let modelProbability: number | null = null;
      if (pick === NOT_A_CANDIDATE) {
        tokenId = u24();
        p = probability(u16());
        modelProbability = probability(u16());
      }
      const candidates = new Array<StoredToken['candidates'][number]>(count);
      for (let c = 0; c < count; c++) {
        const id = u24();
        const text = texts.get(id);
        if (text === undefined) throw malformed(`candidate ${id} has no text`);
        candidates[c] = { tokenId: id, text, probability: probability(u16()) ?? 0, modelProbability: probability(u16()) };
      }
      if (pick !== NOT_A_CANDIDATE) {
        const chosen = candidates[pick]!;
        ({ tokenId, probability: p, modelProbability } = chosen);
      }
      tokens.push({
        tokenId,
        textLength,
        probability: p ?? 0,
        modelProbability,
        entropyBits: entropy === UNKNOWN ? null : entropy / ENTROPY_STEPS_PER_BIT,
        decodeMs: Number.isNaN(decodeMs) ? null : decodeMs,
        candidates,
      });
    }
  }
  return tokens;
}
