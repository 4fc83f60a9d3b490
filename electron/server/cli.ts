// npm run serve -- [--port N] [--data-dir DIR] [--host ADDR --allow-non-loopback] [--api [--api-port N] [--api-network]]
// Starts the same services as the Electron app and serves the renderer to a browser tab.
// `npm run serve` enters through scripts/serve.ts, which passes the step that builds the
// renderer when dist/renderer has none yet; run directly, this file only serves a build.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createAppServices } from '../services/app-services.ts';
import { DEFAULT_API_PORT } from '../shared/openai-api-types.ts';
import { nodeHostSpawner } from '../services/node-host-process.ts';
import { startBrowserHost } from './browser-host.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const USAGE = `Usage: npm run serve -- [--port N] [--data-dir DIR] [--host ADDR] [--allow-non-loopback] [--no-model]
  --port N               port on 127.0.0.1 (default 5858; 0 picks a free one)
  --data-dir DIR         where conversations and settings live (default ${defaultDataDir()})
  --host ADDR            address to listen on (default 127.0.0.1; loopback only unless...)
  --allow-non-loopback   ...this is given: anyone who can reach ADDR and has the token sees your chats
  --no-model             do not load the bundled demo model at start
  --api                  also serve the OpenAI-compatible API for this run (prints its URL and a new key)
  --api-port N           its port (default ${DEFAULT_API_PORT}; 0 picks a free one)
  --api-network          listen on every interface instead of 127.0.0.1 (the key is required either way)`;

function defaultDataDir(): string {
  const base = process.env['XDG_DATA_HOME'] ?? path.join(os.homedir(), process.platform === 'win32' ? 'AppData/Roaming' : '.local/share');
  return path.join(base, 'jielong-browser-host');
}

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

export interface ServeCliOptions {
  /** Makes sure `dir` holds a renderer build (called for the default folder only). */
  ensureRenderer?: (dir: string) => void;
}

export async function runServeCli(args: readonly string[], options: ServeCliOptions = {}): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        port: { type: 'string', default: '5858' },
        'data-dir': { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'allow-non-loopback': { type: 'boolean', default: false },
        'no-model': { type: 'boolean', default: false },
        api: { type: 'boolean', default: false },
        'api-port': { type: 'string', default: String(DEFAULT_API_PORT) },
        'api-network': { type: 'boolean', default: false },
        'renderer-dir': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a whole number from 0 to 65535, not ${values.port}`);
  const apiPort = Number(values['api-port']);
  if (!/^\d+$/.test(values['api-port']) || apiPort > 65535) fail(`--api-port must be a whole number from 0 to 65535, not ${values['api-port']}`);
  if (!values.api && (values['api-network'] || values['api-port'] !== String(DEFAULT_API_PORT))) fail('--api-port and --api-network go with --api');

  const rendererDir = path.resolve(values['renderer-dir'] ?? path.join(ROOT, 'dist', 'renderer'));
  if (!values['renderer-dir']) {
    options.ensureRenderer?.(rendererDir);
    if (!existsSync(path.join(rendererDir, 'index.html'))) fail(`${rendererDir} holds no renderer build (index.html): run \`npm run build:renderer\`, or start with \`npm run serve\`, which builds it`);
  }

  const services = createAppServices({
    dataDir: path.resolve(values['data-dir'] ?? defaultDataDir()),
    bundledModelsDir: path.join(ROOT, 'resources', 'models'),
    spawnHost: nodeHostSpawner(),
  });
  let host;
  try {
    host = await startBrowserHost({
      dispatch: services.dispatch,
      events: services.events,
      rendererDir,
      port,
      host: values.host,
      allowNonLoopback: values['allow-non-loopback'],
    });
  } catch (error) {
    await services.close();
    fail((error as Error).message);
  }
  let api: { baseUrl: string; key: string } | null = null;
  if (values.api) {
    try {
      api = await services.openai.startForThisRun({ port: apiPort, allowNetwork: values['api-network'] });
    } catch (error) {
      await host.close();
      await services.close();
      fail((error as Error).message);
    }
  }
  if (!values['no-model']) await services.loadDefaultModel();
  // Tests read this line to find the address.
  console.log(`Jielong is running at ${host.url}`);
  if (api) console.log(`OpenAI-compatible API at ${api.baseUrl} (key for this run: ${api.key})`);

  const shutdown = async (): Promise<void> => {
    await host.close();
    await services.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runServeCli(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
