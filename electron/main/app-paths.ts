// Where everything lives, for a packaged app and for a development run of dist/. Pure, so the
// rules can be tested without Electron.
//
//   <appPath>/electron/main.cjs         this process (appPath = resources/app.asar when packaged,
//   <appPath>/electron/preload.cjs      dist/ in development: both have the same layout,
//   <appPath>/electron/model-host.cjs   written by scripts/build-electron.ts)
//   <appPath>/renderer/                 the built renderer, served at app://jielong/
//   <resources>/models/<demo>           the bundled demo model: extraResources, outside the
//                                       asar (the host reads it with plain fs and onnxruntime
//                                       needs real files); in development <project>/resources/models
//   <userData>/jielong.sqlite3          the database
//   <userData>/models/                  downloaded models
//   <userData>/cache/                   transformers.js cache (its default is inside node_modules,
//                                       which is read-only in the asar)
//   <userData>/window-state.json
import path from 'node:path';

export const DEMO_MODEL_NAME = 'jielong-tiny-random';

export interface AppLocation {
  /** app.getPath('userData') */
  userData: string;
  /** app.getAppPath() */
  appPath: string;
  /** process.resourcesPath */
  resourcesPath: string;
  /** app.isPackaged */
  isPackaged: boolean;
}

export interface AppPaths {
  userData: string;
  database: string;
  modelsDir: string;
  cacheDir: string;
  windowState: string;
  rendererRoot: string;
  preload: string;
  modelHostEntry: string;
  demoModelDir: string;
}

export function resolveAppPaths(location: AppLocation): AppPaths {
  const { userData, appPath } = location;
  const demoModelsRoot = location.isPackaged ? path.join(location.resourcesPath, 'models') : path.join(appPath, '..', 'resources', 'models');
  return {
    userData,
    database: path.join(userData, 'jielong.sqlite3'),
    modelsDir: path.join(userData, 'models'),
    cacheDir: path.join(userData, 'cache'),
    windowState: path.join(userData, 'window-state.json'),
    rendererRoot: path.join(appPath, 'renderer'),
    preload: path.join(appPath, 'electron', 'preload.cjs'),
    modelHostEntry: path.join(appPath, 'electron', 'model-host.cjs'),
    demoModelDir: path.join(demoModelsRoot, DEMO_MODEL_NAME),
  };
}
