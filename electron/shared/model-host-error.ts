import type { HostErrorCode } from './user-errors.ts';

/** A failure with a code the UI can act on and a message a person can read. */
export class ModelHostError extends Error {
  override readonly name = 'ModelHostError';
  constructor(
    readonly code: HostErrorCode,
    message: string,
    /** For a generation that failed part-way: the text streamed before it failed. */
    readonly partialText?: string,
  ) {
    super(message);
  }
}
