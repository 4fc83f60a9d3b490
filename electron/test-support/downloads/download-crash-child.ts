// A process that starts a download and reports its progress on stdout, so a
// test can SIGKILL it mid-transfer (an app that dies, not one that quits) and resume in
// another process. argv: <modelsDir> <hubUrl> <repo> <dtype>.
import { DownloadManager } from '../../services/downloads/download-manager.ts';

const [modelsDir, hubUrl, repo, dtype] = process.argv.slice(2);
if (!modelsDir || !hubUrl || !repo || !dtype) {
  console.error('usage: download-crash-child <modelsDir> <hubUrl> <repo> <dtype>');
  process.exit(2);
}
const manager = new DownloadManager({ modelsDir, hubHost: hubUrl, diskReserveBytes: 0, progressIntervalMs: 0 });
manager.on((event) => {
  if (event.type === 'progress') process.stdout.write(`${JSON.stringify({ path: event.file.path, bytes: event.file.bytes })}\n`);
});
await manager.start({ source: 'hub', repo, dtype: dtype as 'fp32' });
// Keeps running until killed.
setInterval(() => undefined, 1000);
