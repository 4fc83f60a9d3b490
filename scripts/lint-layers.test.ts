// The layer rule in eslint.config.js is what keeps the arrows pointing down: check that it
// catches each kind of forbidden import and lets the allowed ones through.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function restrictedImports(filePath: string, code: string): Promise<number> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').length;
}

describe('layer rule', () => {
  it.each([
    ['electron/shared/x.ts', "import { readFile } from 'node:fs';"],
    ['electron/shared/x.ts', "import { app } from 'electron';"],
    ['electron/shared/x.ts', "import { Engine } from '../model-host/engine.ts';"],
    ['electron/model-host/x.ts', "import { openDatabase } from '../storage/database.ts';"],
    ['electron/model-host/x.ts', "import { ModelHostClient } from '../services/model-host-client.ts';"],
    ['electron/storage/x.ts', "import { Engine } from '../model-host/engine.ts';"],
    ['electron/services/x.ts', "import { Engine } from '../model-host/engine.ts';"],
    ['electron/services/x.ts', "import { app } from 'electron';"],
    ['electron/model-files/x.ts', "import { Engine } from '../model-host/engine.ts';"],
    ['electron/model-files/x.ts', "import { ModelRegistry } from '../services/model-registry.ts';"],
    ['electron/model-host/x.ts', "import { Storage } from '../storage/index.ts';"],
    ['renderer/src/lib/x.ts', "import { Storage } from '../../../electron/storage/index.ts';"],
    ['renderer/src/lib/x.ts', "import { readFile } from 'node:fs';"],
    ['renderer/src/lib/x.ts', "import type { Conversation } from '../../../electron/shared/chat-types.ts';"],
    ['renderer/src/lib/x.ts', "import { ChatService } from '@shared/../services/chat-service.ts';"],
  ])('refuses in %s: %s', async (file, code) => {
    expect(await restrictedImports(file, `${code}\nexport {};\n`)).toBeGreaterThan(0);
  });

  it.each([
    ['electron/model-host/x.ts', "import { samplingParamsSchema } from '../shared/model-host-protocol.ts';\nexport const s = samplingParamsSchema;"],
    ['electron/services/x.ts', "import { ModelHostError } from '../shared/model-host-error.ts';\nexport const e = ModelHostError;"],
    ['electron/main/x.ts', "import { app } from 'electron';\nexport const a = app;"],
    ['electron/model-host/x.ts', "import { checkModelFolder } from '../model-files/model-folder-check.ts';\nexport const c = checkModelFolder;"],
    ['renderer/src/lib/x.ts', "import { samplingParamsSchema } from '@shared/model-host-protocol.ts';\nexport const s = samplingParamsSchema;"],
  ])('allows in %s: %s', async (file, code) => {
    expect(await restrictedImports(file, `${code}\n`)).toBe(0);
  });
});

describe('test helpers rule', () => {
  const testSupportImports = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(`${code}\nexport const x = helper;\n`, { filePath });
    return result!.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').length;
  };

  it.each([
    ['electron/storage/x.ts', "import { openTemp as helper } from '../test-support/storage/temp-storage.ts';"],
    ['electron/services/downloads/x.ts', "import { startTestHub as helper } from '../../test-support/downloads/test-hub.ts';"],
    ['electron/main/x.ts', "import { FakeIpcMain as helper } from '../test-support/main/electron-fakes.ts';"],
  ])('refuses in production %s: %s', async (file, code) => {
    expect(await testSupportImports(file, code)).toBeGreaterThan(0);
  });

  it.each([
    ['electron/storage/x.test.ts', "import { openTemp as helper } from '../test-support/storage/temp-storage.ts';"],
    ['electron/test-support/storage/x.ts', "import { startTestHub as helper } from '../../test-support/downloads/test-hub.ts';"],
  ])('allows in tests and test helpers %s: %s', async (file, code) => {
    expect(await testSupportImports(file, code)).toBe(0);
  });
});
