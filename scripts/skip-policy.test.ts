// The e2e skip policy (e2e/support/skip-policy.ts, a Playwright reporter): only the Electron
// spec may skip, and only for a missing Electron binary; everything skipped is listed with its reason.
import { describe, expect, it } from 'vitest';
import type { TestCase, TestResult } from '@playwright/test/reporter';
import SkipPolicyReporter from '../e2e/support/skip-policy.ts';

function fakeTest(file: string, title: string, annotations: TestCase['annotations'] = []): TestCase {
  return { location: { file, line: 1, column: 1 }, annotations, titlePath: () => ['', 'project', file.split('/').pop()!, title] } as unknown as TestCase;
}
function fakeResult(status: TestResult['status'], annotations: TestResult['annotations'] = []): TestResult {
  return { status, annotations } as unknown as TestResult;
}

async function run(entries: Array<[TestCase, TestResult]>) {
  const lines: string[] = [];
  const reporter = new SkipPolicyReporter({ print: (line) => lines.push(line) });
  for (const [test, result] of entries) reporter.onTestEnd(test, result);
  return { verdict: await reporter.onEnd({ status: 'passed' } as never), lines };
}

const ELECTRON = '/repo/e2e/electron.spec.ts';
const NO_BINARY = 'the Electron binary is not installed (node_modules/electron has no binary); npm run install:electron downloads it';

describe('e2e skip policy', () => {
  it('lets the Electron spec skip for a missing binary, and names the reason', async () => {
    const { verdict, lines } = await run([
      [fakeTest(ELECTRON, 'opens one window'), fakeResult('skipped', [{ type: 'skip', description: NO_BINARY }])],
      [fakeTest('/repo/e2e/chat.spec.ts', 'streams'), fakeResult('passed')],
    ]);
    expect(verdict).toBeUndefined();
    expect(lines).toEqual([`skipped: electron.spec.ts › opens one window — ${NO_BINARY}`]);
  });

  it('reads a reason declared on the test as well as one added at run time', async () => {
    const { verdict } = await run([[fakeTest(ELECTRON, 'opens one window', [{ type: 'skip', description: NO_BINARY }]), fakeResult('skipped')]]);
    expect(verdict).toBeUndefined();
  });

  it.each([
    ['a browser spec skipping', fakeTest('/repo/e2e/chat.spec.ts', 'streams'), fakeResult('skipped', [{ type: 'skip', description: 'no Chromium at /usr/bin/chromium' }])],
    ['the Electron spec skipping for another reason', fakeTest(ELECTRON, 'opens one window'), fakeResult('skipped', [{ type: 'skip', description: 'no display' }])],
    ['a skip with no reason', fakeTest(ELECTRON, 'opens one window'), fakeResult('skipped')],
    ['a fixme', fakeTest('/repo/e2e/chat.spec.ts', 'streams'), fakeResult('skipped', [{ type: 'fixme', description: 'later' }])],
  ])('fails the run on %s', async (_name, test, result) => {
    const { verdict, lines } = await run([[test, result]]);
    expect(verdict).toEqual({ status: 'failed' });
    expect(lines[0]).toMatch(/^NOT ALLOWED to skip: /);
    expect(lines.at(-1)).toContain('the run fails');
  });
});
