// Error codes find their words by the code itself, in the table of the place that shows them;
// anything else (an unknown code, a fallback key, an object's own property names) says
// "something went wrong" with the main side's message.
import { describe, expect, it } from 'vitest';
import { describeCode, errorKey } from './errors.ts';
import { en } from './i18n/en.ts';
import { describeDownloadError, describeImportError } from './stores/models-screen.svelte.ts';
import { ApiError } from './transport.ts';

describe('error words', () => {
  it('are looked up by code in each table', () => {
    expect(describeCode('conflict', 'x')).toBe(en.errors.conflict);
    expect(describeCode('invalid_input', 'too long')).toBe('That was not accepted: too long');
    expect(describeDownloadError(new ApiError('not_found', 'org/none'))).toBe('Not found on the hub: org/none');
    expect(describeImportError(new ApiError('timeout', 'config.json'))).toBe('Too slow to read: config.json');
  });

  it('fall back for codes a table has no words for', () => {
    for (const code of ['storage_conflict', 'generic', 'toString', 'constructor', 'load_timeout']) {
      expect(describeCode(code, 'detail'), code).toBe('Something went wrong: detail');
    }
    expect(errorKey('modelsScreen.importErrors', 'other')).toBeNull();
    expect(describeDownloadError(new ApiError('context_full', 'x'))).toBe(en.errors.context_full);
  });
});
