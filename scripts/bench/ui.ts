// npm run bench:ui [-- --tokens 3000 --runs 3 --no-build --no-decoding --model DIR]
//
// The renderer under a fast stream, on a machine as busy as it is when a model answers:
// Debian's Chromium opens the browser host (real services, real WebSocket, the built
// renderer) whose token producer is the scripted stand-in, writing a ~3,000-token markdown
// answer (headings, paragraphs, lists, code blocks) as fast as the pipe allows, at normal
// priority; beside it a real model host (the bundled tiny model, or --model DIR) decodes
// without pause for the whole run, competing for the CPU as it does in the app. The page runs
// with ?perf=1, so every render of the live answer leaves a User Timing measure with the
// number of new tokens it drew. Printed, one JSON object per line, after the machine line:
//   longest_task_ms               the WORST over the runs of the longest main-thread task while
//                                 the answer streamed: the Long Tasks API (50 ms and up) and,
//                                 below that, the tasks of long animation frames (each script,
//                                 and the rendering update: rAF, style, layout, paint)
//   longest_task_median_ms        the median over the runs of the same
//   frame_max_ms                  the worst gap between two frames (requestAnimationFrame to
//                                 requestAnimationFrame) over the runs: what a user sees as a
//                                 stall, with script, style, layout and paint all in it;
//                                 frame_max_median_ms, frame_p95_ms (median over the runs)
//   long_animation_frame_max_ms   the longest 'long-animation-frame' entry (worst over runs)
//   frame_ms_per_token_first500   a frame's rendering update (the markdown update in rAF, then
//   frame_ms_per_token_last500    style, layout and paint, up to the next task), spread over
//   frame_ratio_last_vs_first     the tokens the frame drew, for the first and last 500 tokens
//   render_ms_per_token_first500  the markdown update alone (the User Timing measure), the same
//   render_ms_per_token_last500   way; render_ratio_last_vs_first
//   event_loop_lag_ms             the longest a setTimeout(0) waited (median over runs)
//   decode_tokens_per_s           the model host's decode speed meanwhile (0 with --no-decoding)
// and the same for the token view (tokenview_*), plus the tokens and the time on screen.
// Targets: longest task and worst frame < 50 ms, frame ratio <= 1.5.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumMissingReason } from '../../e2e/support/chromium.ts';
import type { PageGlobals, PagePerformanceEntry } from '../../e2e/support/page-globals.ts';
import { longMarkdown } from '../../e2e/support/showcase.ts';
import { ROOT, startTestHost } from '../../e2e/support/test-host.ts';
import { ModelHostClient } from '../../electron/services/model-host-client.ts';
import { nodeHostSpawner } from '../../electron/services/node-host-process.ts';
import { DEMO_MODEL_DIR } from '../testing/model-fixtures.ts';
import { printMachineLine } from './machine.ts';

interface Frame {
  /** When the frame's requestAnimationFrame callbacks began. */
  start: number;
  /** When the first task after its rendering update (style, layout, paint) ran. */
  end: number;
}

interface Bench {
  tasks: number[];
  frameTasks: number[];
  /** The longest 'long-animation-frame' entry. */
  longFrameMax: number;
  rafFrames: Frame[];
  frames: string[];
  maxGap: number;
  probing: boolean;
  startedAt: number;
  start(): void;
  stop(): void;
}
type BenchPage = PageGlobals & {
  __bench: Bench;
  MessageChannel: new () => { port1: { onmessage: (() => void) | null }; port2: { postMessage(message: unknown): void } };
};

interface RunResult {
  frames: string[];
  tokens: number;
  streamMs: number;
  longestTaskMs: number;
  frameMaxMs: number;
  frameP95Ms: number;
  longFrameMaxMs: number;
  frameFirst: number;
  frameLast: number;
  lagMs: number;
  longTasks: number;
  perTokenFirst: number;
  perTokenLast: number;
}

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '3000' },
    runs: { type: 'string', default: '3' },
    'no-build': { type: 'boolean', default: false },
    'no-decoding': { type: 'boolean', default: false },
    model: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const TOKENS = Number(values.tokens);
const RUNS = Number(values.runs);

function figure(name: string, value: number): void {
  console.log(JSON.stringify({ figure: name, value: Math.round(value * 1000) / 1000 }));
}

function worst(numbers: number[]): number {
  return Math.max(...numbers, 0);
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Installed before the page's own scripts: long tasks and a setTimeout lag probe. */
function instrument(): void {
  const page = globalThis as unknown as BenchPage;
  const bench: Bench = { tasks: [], frameTasks: [], longFrameMax: 0, rafFrames: [], frames: [], maxGap: 0, probing: false, startedAt: 0, start() {}, stop() {} };
  page.__bench = bench;
  new page.PerformanceObserver((list) => {
    if (!bench.probing) return;
    for (const entry of list.getEntries()) {
      bench.tasks.push(entry.duration);
      bench.frames.push(`long task ${Math.round(entry.duration)} ms at ${Math.round(entry.startTime - bench.startedAt)} ms`);
    }
  }).observe({ type: 'longtask', buffered: false });
  // Long animation frames, with where their time went (printed with --verbose).
  new page.PerformanceObserver((list) => {
    if (!bench.probing) return;
    for (const entry of list.getEntries()) {
      const scriptsOf = entry.scripts ?? [];
      const renderStart = entry.renderStart ?? 0;
      // The tasks inside a long frame: each script (listed from 5 ms) and the rendering update
      // (rAF callbacks, style, layout, paint) are separate tasks; the frame is long when many
      // short tasks (thousands of WebSocket messages) queue up before it.
      const rendering = renderStart > 0 ? entry.startTime + entry.duration - renderStart : 0;
      bench.frameTasks.push(rendering, ...scriptsOf.map((script) => script.duration));
      bench.longFrameMax = Math.max(bench.longFrameMax, entry.duration);
      const scripts = scriptsOf.map((script) => `${script.invoker}${script.sourceFunctionName ? `/${script.sourceFunctionName}` : ''} ${Math.round(script.duration)}`).join(', ');
      bench.frames.push(`frame at ${Math.round(entry.startTime - bench.startedAt)} ms, ${Math.round(entry.duration)} ms: rendering ${Math.round(rendering)} ms, style+layout ${Math.round(entry.startTime + entry.duration - (entry.styleAndLayoutStart ?? 0))} ms; scripts: ${scripts}`);
    }
  }).observe({ type: 'long-animation-frame', buffered: false });
  let last = 0;
  const tick = (): void => {
    if (!bench.probing) return;
    const now = page.performance.now();
    // A timeout fires about 4 ms after the last; anything beyond is a task that ran in between.
    if (last) bench.maxGap = Math.max(bench.maxGap, now - last - 4);
    last = now;
    page.setTimeout(tick, 0);
  };
  // Every frame: when its rAF callbacks begin (this one is registered a frame ahead, so it
  // runs before the page's, which draw the markdown), and when the first message posted from
  // it arrives, after the frame's style, layout and paint.
  const channel = new page.MessageChannel();
  let open: Frame | null = null;
  channel.port1.onmessage = () => {
    if (open) open.end = page.performance.now();
    open = null;
  };
  const frame = (): void => {
    if (!bench.probing) return;
    open = { start: page.performance.now(), end: 0 };
    bench.rafFrames.push(open);
    channel.port2.postMessage(null);
    page.requestAnimationFrame(frame);
  };
  bench.start = () => {
    bench.startedAt = page.performance.now();
    bench.probing = true;
    last = 0;
    page.setTimeout(tick, 0);
    page.requestAnimationFrame(frame);
  };
  bench.stop = () => {
    bench.probing = false;
  };
}

async function runOnce(page: Page, url: string, tokenView: boolean): Promise<RunResult> {
  // A fresh page each run (a new chat), not a same-document hash change.
  await page.goto('about:blank');
  await page.goto(url);
  await page.getByTestId('composer').waitFor();
  await page.waitForFunction(() => !(globalThis as unknown as PageGlobals).document.querySelector('[data-testid="composer"]')?.disabled);
  // The page warms its markdown, highlighting and math while idle after it opens (a person
  // takes a moment before sending, too): wait for that, it is not the streaming's cost.
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.documentElement.getAttribute('data-warm') === '1', undefined, { timeout: 20_000 });
  if (tokenView !== ((await page.getByTestId('token-view-toggle').getAttribute('aria-pressed')) === 'true')) await page.getByTestId('token-view-toggle').click();
  await page.evaluate(() => (globalThis as unknown as PageGlobals).performance.clearMeasures('jielong:render'));
  await page.getByTestId('composer').fill('Write the long guide, please.');
  await page.evaluate(() => (globalThis as unknown as BenchPage).__bench.start());
  const started = Date.now();
  await page.getByTestId('composer').press('Enter');
  await page.locator('article[data-role="assistant"][data-status="streaming"]').waitFor();
  await page.locator('article[data-role="assistant"][data-status="complete"]').waitFor({ timeout: 120_000 });
  // Let the last frame draw.
  await page.evaluate(() => {
    const { requestAnimationFrame, setTimeout } = globalThis as unknown as PageGlobals;
    return new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50)));
  });
  const streamMs = Date.now() - started;
  return page.evaluate(
    ({ streamMs }) => {
      const page = globalThis as unknown as BenchPage;
      const bench = page.__bench;
      bench.stop();
      const renders: PagePerformanceEntry[] = page.performance.getEntriesByName('jielong:render');
      const total = Math.max(...renders.map((r) => (r.detail as { total: number }).total), 0);
      /** Render time spread evenly over the tokens each render drew. */
      const perToken = new Float64Array(total);
      for (const render of renders) {
        const { tokens, total: upTo } = render.detail as { tokens: number; total: number };
        if (tokens <= 0) continue;
        for (let i = upTo - tokens; i < upTo; i++) perToken[i] = render.duration / tokens;
      }
      const mean = (from: number, to: number): number => {
        let sum = 0;
        for (let i = from; i < to; i++) sum += perToken[i] ?? 0;
        return sum / Math.max(1, to - from);
      };
      const span = Math.min(500, Math.floor(total / 2));
      // The whole rendering update of each frame (markdown, style, layout, paint), spread over
      // the tokens the renders inside it drew.
      const frames = bench.rafFrames.filter((f) => f.end > 0);
      const perTokenFrame = new Float64Array(total);
      let next = 0;
      const byStart = [...renders].sort((a, b) => a.startTime - b.startTime);
      for (const f of frames) {
        let tokens = 0;
        let from = Number.POSITIVE_INFINITY;
        let upTo = 0;
        while (next < byStart.length && byStart[next]!.startTime < f.end) {
          const render = byStart[next++]!;
          if (render.startTime < f.start) continue;
          const detail = render.detail as { tokens: number; total: number };
          if (detail.tokens <= 0) continue;
          tokens += detail.tokens;
          from = Math.min(from, detail.total - detail.tokens);
          upTo = Math.max(upTo, detail.total);
        }
        if (tokens <= 0) continue;
        for (let i = from; i < upTo; i++) perTokenFrame[i] = (f.end - f.start) / (upTo - from);
      }
      const meanFrame = (from: number, to: number): number => {
        let sum = 0;
        for (let i = from; i < to; i++) sum += perTokenFrame[i] ?? 0;
        return sum / Math.max(1, to - from);
      };
      const gaps = frames.slice(1).map((f, i) => f.start - frames[i]!.start).sort((a, b) => a - b);
      const slowest = [...renders].sort((a, b) => b.duration - a.duration).slice(0, 5);
      return {
        frames: [...bench.frames, ...slowest.map((r) => `slowest render ${r.duration.toFixed(1)} ms: ${JSON.stringify(r.detail)}`)],
        tokens: total,
        streamMs,
        longestTaskMs: Math.max(...bench.tasks, ...bench.frameTasks, 0),
        frameMaxMs: gaps.at(-1) ?? 0,
        frameP95Ms: gaps[Math.min(gaps.length - 1, Math.ceil(gaps.length * 0.95) - 1)] ?? 0,
        longFrameMaxMs: bench.longFrameMax,
        frameFirst: meanFrame(0, span),
        frameLast: meanFrame(total - span, total),
        lagMs: bench.maxGap,
        longTasks: bench.tasks.length,
        perTokenFirst: mean(0, span),
        perTokenLast: mean(total - span, total),
      };
    },
    { streamMs },
  );
}

/**
 * A real model host decoding without pause (one answer after another, each to the end of its
 * context) in its own process at normal priority: the CPU the app's model takes while the page
 * draws what it writes.
 */
async function startDecoding(modelDir: string): Promise<{ modelDir: string; stop(): Promise<{ tokens: number; tokensPerSecond: number }> }> {
  const client = new ModelHostClient(nodeHostSpawner());
  await client.start();
  await client.load({ modelDir, dtype: 'fp32' });
  let running = true;
  let tokens = 0;
  const started = performance.now();
  const loop = (async () => {
    for (let seed = 1; running; seed++) {
      const stats = await client.generate({
        messages: [{ role: 'user', content: 'Write a long story.' }],
        params: { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 32_768, seed },
        reuseCache: false,
      }).done;
      tokens += stats.decodeTokens;
    }
  })();
  let stopped: Promise<{ tokens: number; tokensPerSecond: number }> | null = null;
  return {
    modelDir,
    stop: () =>
      (stopped ??= (async () => {
        running = false;
        await loop.catch(() => undefined);
        const seconds = (performance.now() - started) / 1000;
        client.stop();
        return { tokens, tokensPerSecond: tokens / seconds };
      })()),
  };
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) {
    console.error(`bench:ui needs Chromium: ${chromiumMissingReason()}`);
    process.exit(2);
  }
  if (!values['no-build']) await build({ configFile: `${ROOT}/vite.renderer.config.ts`, logLevel: 'error' });
  const answer = longMarkdown(TOKENS);
  const host = await startTestHost({ scripted: { answer: () => answer, tokensPerBatch: 1, batchDelayMs: 0, candidates: 5 } });
  await host.services.dispatch('settings.update', { defaultSampling: { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.1, maxNewTokens: 8192 } });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const decoder = values['no-decoding'] ? null : await startDecoding(values.model ?? DEMO_MODEL_DIR);
  printMachineLine({ chromium: browser.version(), decoding: decoder ? decoder.modelDir : 'none', runs: RUNS, tokens: TOKENS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // tsx (esbuild keepNames) wraps named functions in __name(); the page needs it too.
    await page.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
    await page.addInitScript(instrument);
    const url = host.url.replace('/#', '/?perf=1#');
    const results: Record<'markdown' | 'tokens', RunResult[]> = { markdown: [], tokens: [] };
    for (let run = 0; run < RUNS; run++) {
      results.markdown.push(await runOnce(page, url, false));
      results.tokens.push(await runOnce(page, url, true));
    }
    const decoded = decoder ? await decoder.stop() : null;
    const report = (prefix: string, runs: RunResult[]): void => {
      const first = median(runs.map((r) => r.perTokenFirst));
      const last = median(runs.map((r) => r.perTokenLast));
      const frameFirst = median(runs.map((r) => r.frameFirst));
      const frameLast = median(runs.map((r) => r.frameLast));
      figure(`${prefix}longest_task_ms`, worst(runs.map((r) => r.longestTaskMs)));
      figure(`${prefix}longest_task_median_ms`, median(runs.map((r) => r.longestTaskMs)));
      figure(`${prefix}frame_max_ms`, worst(runs.map((r) => r.frameMaxMs)));
      figure(`${prefix}frame_max_median_ms`, median(runs.map((r) => r.frameMaxMs)));
      figure(`${prefix}frame_p95_ms`, median(runs.map((r) => r.frameP95Ms)));
      figure(`${prefix}long_animation_frame_max_ms`, worst(runs.map((r) => r.longFrameMaxMs)));
      figure(`${prefix}frame_ms_per_token_first500`, frameFirst);
      figure(`${prefix}frame_ms_per_token_last500`, frameLast);
      figure(`${prefix}frame_ratio_last_vs_first`, frameFirst > 0 ? frameLast / frameFirst : 0);
      figure(`${prefix}render_ms_per_token_first500`, first);
      figure(`${prefix}render_ms_per_token_last500`, last);
      figure(`${prefix}render_ratio_last_vs_first`, first > 0 ? last / first : 0);
      figure(`${prefix}event_loop_lag_ms`, median(runs.map((r) => r.lagMs)));
      figure(`${prefix}tokens`, median(runs.map((r) => r.tokens)));
      figure(`${prefix}stream_ms`, median(runs.map((r) => r.streamMs)));
    };
    if (values.verbose) for (const [kind, runs] of Object.entries(results)) for (const run of runs) for (const frame of run.frames) console.error(`${kind}: ${frame}`);
    report('', results.markdown);
    report('tokenview_', results.tokens);
    figure('decode_tokens_per_s', decoded ? decoded.tokensPerSecond : 0);
    figure('decode_tokens', decoded ? decoded.tokens : 0);
    const markdownRuns = results.markdown;
    const longest = worst(markdownRuns.map((r) => r.longestTaskMs));
    const frameMax = worst(markdownRuns.map((r) => r.frameMaxMs));
    const ratio = median(markdownRuns.map((r) => r.frameLast)) / Math.max(1e-9, median(markdownRuns.map((r) => r.frameFirst)));
    if (longest >= 50 || frameMax >= 50 || ratio > 1.5) {
      console.error(`bench:ui: targets missed (worst longest task ${longest.toFixed(1)} ms and worst frame ${frameMax.toFixed(1)} ms, target < 50; frame ratio ${ratio.toFixed(2)}, target <= 1.5)`);
    }
  } finally {
    await decoder?.stop();
    await browser.close();
    await host.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
