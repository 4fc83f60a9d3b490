// The Models screen's state against an in-memory transport: download events become rows with
// live figures, an install lists the model and says so, a failure says why, removal needs the
// confirmation step, and the download errors keep the main side's detail.
import { describe, expect, it } from 'vitest';
import type { CallName } from '@shared/contract.ts';
import type { DownloadInfo, InstalledModel, RemovalPlan } from '@shared/model-registry-types.ts';
import { type Handler, settle, startApp } from '../../../test/fake-transport.ts';
import { ApiError } from '../transport.ts';
import { describeDownloadError } from './models-screen.svelte.ts';

const download = (change: Partial<DownloadInfo> = {}): DownloadInfo => ({
  id: 'tiny-q4',
  modelId: 'tiny-q4',
  name: 'Tiny (q4)',
  spec: { source: 'catalog', catalogId: 'tiny', dtype: 'q4' },
  host: 'http://127.0.0.1:1',
  repo: 'org/tiny',
  revision: 'main',
  commit: null,
  dtype: 'q4',
  state: 'downloading',
  files: [{ path: 'onnx/model_q4.onnx', size: 1000, sha256: null, check: 'size', bytesDone: 0, state: 'pending' }],
  bytesDone: 0,
  bytesTotal: 1000,
  error: null,
  interrupted: false,
  createdAt: '2026-11-22T00:00:00.000Z',
  updatedAt: '2026-11-22T00:00:00.000Z',
  ...change,
});

const installed = { id: 'tiny-q4', name: 'Tiny (q4)', removable: true } as InstalledModel;

function setup(handlers: Partial<Record<CallName, Handler>> = {}) {
  const { app, transport } = startApp(handlers);
  return { app, transport, models: app.modelsScreen };
}

describe('ModelsScreenStore', () => {
  it('lists a download when it starts and follows its progress, speed and ETA', async () => {
    const { transport, models } = setup({ 'downloads.start': () => download() });
    await settle();
    await models.startCatalog('tiny', 'q4');
    expect(models.downloads.map((d) => d.info.id)).toEqual(['tiny-q4']);
    transport.emit('downloads.event', {
      type: 'progress',
      id: 'tiny-q4',
      file: { path: 'onnx/model_q4.onnx', bytes: 400, total: 1000, speed: 200, etaSeconds: 3 },
      total: { bytes: 400, total: 1000, speed: 200, etaSeconds: 3 },
    });
    const row = models.downloads[0]!;
    expect(row.info.bytesDone).toBe(400);
    expect(row.info.files[0]).toMatchObject({ bytesDone: 400, state: 'downloading' });
    expect(row).toMatchObject({ speed: 200, etaSeconds: 3, file: 'onnx/model_q4.onnx' });
    expect(models.active).toHaveLength(1);
    // Paused: no speed or time left is shown any more.
    transport.emit('downloads.event', { type: 'state', download: download({ state: 'paused', bytesDone: 400 }) });
    expect(models.downloads[0]).toMatchObject({ speed: 0, etaSeconds: null });
    expect(models.active).toHaveLength(0);
  });

  it('marks an installed download and says so; a failure says why', async () => {
    const { app, transport, models } = setup({ 'downloads.start': () => download() });
    await settle();
    await models.startCatalog('tiny', 'q4');
    transport.emit('downloads.event', { type: 'installed', id: 'tiny-q4', modelId: 'tiny-q4' });
    expect(models.downloads[0]!.info).toMatchObject({ state: 'installed', bytesDone: 1000 });
    expect(app.notices.toasts.at(-1)!.text()).toBe('Tiny (q4) is installed.');
    transport.emit('downloads.event', { type: 'state', download: download({ id: 'other', modelId: 'other', name: 'Other', state: 'failed', error: { code: 'verify_failed', message: 'sha256 mismatch' } }) });
    expect(app.notices.toasts.at(-1)).toMatchObject({ kind: 'error' });
    expect(app.notices.toasts.at(-1)!.text()).toBe('The download of Other failed: sha256 mismatch');
  });

  it('a refused start keeps the main side’s detail and leaves no row', async () => {
    const { app, models } = setup({
      'downloads.start': () => {
        throw new ApiError('disk_full', 'Not enough disk space for Tiny: it needs 1 GB more');
      },
    });
    await settle();
    expect(await models.startCatalog('tiny', 'q4')).toBeNull();
    expect(models.downloads).toEqual([]);
    expect(app.notices.toasts.at(-1)!.text()).toBe('Not enough disk space for Tiny: it needs 1 GB more');
    expect(models.isStarting('tiny')).toBe(false);
  });

  it('deletes only through the confirmation: plan first, then remove with confirm', async () => {
    const plan: RemovalPlan = { id: 'tiny-q4', name: 'Tiny (q4)', dir: '/m/tiny-q4', sizeBytes: 1000, isDefault: false };
    const { app, transport, models } = setup({
      'models.list': () => [installed],
      'models.planRemoval': () => plan,
      'models.remove': () => ({ removed: true }),
    });
    await settle();
    expect(app.models.installed).toHaveLength(1);
    await models.requestRemoval('tiny-q4');
    expect(models.removal).toEqual(plan);
    expect(transport.calls.some((c) => c.name === 'models.remove')).toBe(false);
    await models.confirmRemoval();
    expect(transport.calls.find((c) => c.name === 'models.remove')!.input).toEqual({ id: 'tiny-q4', confirm: true });
    expect(app.models.installed).toEqual([]);
    expect(models.removal).toBeNull();
  });

  it('lists downloads an earlier run left, and resumes the interrupted ones on request', async () => {
    const left = download({ state: 'paused', interrupted: true, bytesDone: 300 });
    const { transport, models } = setup({ 'downloads.list': () => [left], 'downloads.resume': () => ({ ...left, state: 'queued', interrupted: false }) });
    await settle();
    expect(models.interrupted.map((d) => d.info.id)).toEqual(['tiny-q4']);
    expect(transport.calls.some((c) => c.name === 'downloads.resume')).toBe(false);
    await models.resumeInterrupted();
    expect(transport.calls.filter((c) => c.name === 'downloads.resume').map((c) => c.input)).toEqual([{ id: 'tiny-q4' }]);
    expect(models.interrupted).toEqual([]);
  });
});

describe('describeDownloadError', () => {
  it('keeps the detail for download codes, and falls back to the app’s wording for others', () => {
    expect(describeDownloadError(new ApiError('not_found', 'org/none does not exist'))).toBe('Not found on the hub: org/none does not exist');
    expect(describeDownloadError(new ApiError('busy', 'x'))).toBe('An answer is still being written: stop it or wait for it to finish.');
  });
});
