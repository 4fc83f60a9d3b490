// Entry of the Electron main process (bundled to dist/electron/main.cjs by
// scripts/build-electron.ts). Only here are Electron's real modules handed to the app; all
// the logic is in app.ts and the modules beside it.
import { BrowserWindow, app, dialog, ipcMain, protocol, safeStorage, screen, session, shell, utilityProcess } from 'electron';
import { runApp } from './app.ts';
import { safeStorageCodec } from './secret-codec.ts';

runApp<BrowserWindow>({
  app,
  createWindow: (options) => new BrowserWindow(options),
  ipcMain,
  protocol,
  defaultSession: () => session.defaultSession,
  workAreas: () => screen.getAllDisplays().map((display) => display.workArea),
  dialog,
  shell,
  forkUtilityProcess: (modulePath, args, options) => utilityProcess.fork(modulePath, args, options),
  resourcesPath: process.resourcesPath,
  platform: process.platform,
  devTools: !app.isPackaged,
  secrets: safeStorageCodec(safeStorage),
});
