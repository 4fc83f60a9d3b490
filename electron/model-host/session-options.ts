// The onnxruntime settings the engine creates its sessions with; the engine bench's raw
// onnxruntime side uses the same, so host/raw measures the engine's loop and process, not settings.
import type { InferenceSession } from 'onnxruntime-node';

/**
 * The engine's onnxruntime session settings, each measured in-process against the alternative
 * in alternated runs (scripts/bench/engine.ts's BENCH_ENGINE_VARIANTS compares them beside the other sides).
 * No spinning: onnxruntime's worker threads otherwise busy-wait for work after every op and
 * between tokens, which on a 2-core machine shared with anything else (the app's own main and
 * renderer processes) costs more than it saves. SmolLM2-shaped q4, 2 cores, load ~5.5, median
 * ms per token over three alternated runs: 44-79 spinning, 25-37 not, 41-55 on one thread.
 */
export const ENGINE_SESSION_OPTIONS: InferenceSession.SessionOptions = {
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  // onnxruntime's arena keeps whatever the largest prefill chunk needed. Measured over 30
  // answers (every 10th after a 640-token prompt), SmolLM2-shaped q4: RSS grew 72-147 MiB with
  // the arena and 16-25 MiB without, at the same decode and prefill speed.
  enableCpuMemArena: false,
};
