// The last requests the API answered, for the settings screen (newest first).
import type { ApiRequestLogEntry } from '../../shared/openai-api-types.ts';

export const REQUEST_LOG_SIZE = 100;

export class RequestLog {
  private readonly entries: ApiRequestLogEntry[] = [];

  add(entry: ApiRequestLogEntry): void {
    this.entries.unshift(entry);
    if (this.entries.length > REQUEST_LOG_SIZE) this.entries.length = REQUEST_LOG_SIZE;
  }

  list(): ApiRequestLogEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }
}
