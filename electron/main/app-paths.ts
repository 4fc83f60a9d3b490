// Where everything lives, for a packaged app and for a development run of dist/. Pure, so the
// rules can be tested without Electron.
//
//   <appPath>/electron/main.cjs         this process (appPath = resources/app.asar when packaged,
//   <appPath>/electron/preload.cjs      dist/ in development: both have the same layout,
//   <appPath>/electron/model-host.cjs   written by scripts/build-electron.ts)
//   <appPath>/renderer/                 the built renderer, served at app://jielong/
//   <resources>/models/                 bundled models, the demo among them: extraResources,
//                                       outside the asar (the host reads them with plain fs and
//                                       onnxruntime needs real files); in development
//                                       <project>/resources/models
//   <userData>/                         the services' data folder (database, settings)
//   <userData>/cache/                   for transformers.js's cache (its default is inside
//                                       node_modules, which is read-only in the asar)
//   <userData>/window-state.json
import path from 'node:path';

export const DEMO_MODEL_NAME = 'jielong-poet';

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
  /** Where the services keep the database and settings (createAppServices' dataDir). */
  dataDir: string;
  cacheDir: string;
  windowState: string;
  rendererRoot: string;
  preload: string;
  modelHostEntry: string;
  /** Folder of bundled models, each with its jielong.json manifest. */
  bundledModelsDir: string;
  demoModelDir: string;
}

export function resolveAppPaths(location: AppLocation): AppPaths {
  const { userData, appPath } = location;
  const bundledModelsDir = location.isPackaged ? path.join(location.resourcesPath, 'models') : path.join(appPath, '..', 'resources', 'models');
  return {
    dataDir: userData,
    cacheDir: path.join(userData, 'cache'),
    windowState: path.join(userData, 'window-state.json'),
    rendererRoot: path.join(appPath, 'renderer'),
    preload: path.join(appPath, 'electron', 'preload.cjs'),
    modelHostEntry: path.join(appPath, 'electron', 'model-host.cjs'),
    bundledModelsDir,
    demoModelDir: path.join(bundledModelsDir, DEMO_MODEL_NAME),
  };
}
