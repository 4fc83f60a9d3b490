// A Playwright reporter (playwright.config.ts) that holds the e2e run to one rule: the only
// test that may skip is the Electron spec (e2e/electron.spec.ts), and only because the Electron
// binary is not installed (it cannot be downloaded on every machine; `npm start` and these
// browser specs use the browser host there). Every skipped test is listed with its reason;
// any other skip — a missing Chromium, a test.skip or test.fixme left in a spec, a skip with
// no reason — fails the run.
import path from 'node:path';
import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';

export const ALLOWED_SKIP = { file: 'electron.spec.ts', reason: /^the Electron binary is not installed\b/ } as const;

export interface SkippedTest {
  file: string;
  title: string;
  reason: string | undefined;
}

export function isAllowedSkip(test: SkippedTest): boolean {
  return path.basename(test.file) === ALLOWED_SKIP.file && test.reason !== undefined && ALLOWED_SKIP.reason.test(test.reason);
}

/** The skip annotation's description, from the result (runtime skips) or the test (declared ones). */
export function skipReason(test: Pick<TestCase, 'annotations'>, result: Pick<TestResult, 'annotations'>): string | undefined {
  const annotations = [...(result.annotations ?? []), ...test.annotations];
  return annotations.find((annotation) => annotation.type === 'skip' || annotation.type === 'fixme')?.description || undefined;
}

export default class SkipPolicyReporter implements Reporter {
  readonly skipped: SkippedTest[] = [];
  private readonly print: (line: string) => void;
  /** Playwright passes the reporter's options from the config; tests pass `print`. */
  constructor(options: { print?: (line: string) => void } = {}) {
    this.print = options.print ?? ((line) => console.log(line));
  }

  printsToStdio(): boolean {
    return true;
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.status !== 'skipped') return;
    this.skipped.push({ file: test.location.file, title: test.titlePath().filter(Boolean).slice(1).join(' › '), reason: skipReason(test, result) });
  }

  async onEnd(_result: FullResult): Promise<{ status: FullResult['status'] } | undefined> {
    const unexpected = this.skipped.filter((test) => !isAllowedSkip(test));
    for (const test of this.skipped) {
      const verdict = isAllowedSkip(test) ? 'skipped' : 'NOT ALLOWED to skip';
      this.print(`${verdict}: ${test.title} — ${test.reason ?? 'no reason given'}`);
    }
    if (unexpected.length === 0) return undefined;
    this.print(`e2e: ${unexpected.length} test(s) skipped for a reason other than a missing Electron binary; the run fails.`);
    return { status: 'failed' };
  }
}
