/**
 * Progress bars (cli-progress) that stay out of the way: drawn only on a terminal, never on
 * the stream that carries data or JSON, and only once the work has lasted about a second, so
 * quick commands print nothing but their answer.
 */
import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from './format.ts';

export interface Progress {
  /** `phase` says what happens now (`uploading`, `dispersing`). */
  update(value: number, phase?: string): void;
  setTotal(total: number): void;
  /** Draws the last state (if the bar is up) and releases the terminal. */
  stop(): void;
  /** A line for the user, above the bar: on a terminal only, as the bar. */
  note?(text: string): void;
}

/** A progress factory: called once the size is known (undefined for stdin). */
export type ProgressFor = (total: number | undefined) => Progress;

/** Bars on screen now, so an interrupt can give the cursor back (bars hide it). */
const shown = new Set<cliProgress.SingleBar>();

/** Stops every bar on screen; for Ctrl-C, before the process exits. */
export function stopAllBars(): void {
  for (const bar of shown) bar.stop();
  shown.clear();
}

/** A progress that draws nothing. */
export const NO_PROGRESS: Progress = { update() {}, setTotal() {}, stop() {} };

export interface BarOptions {
  /** Where to draw; nothing is drawn unless it is a TTY. */
  stream: NodeJS.WriteStream;
  label: string;
  total: number;
  /** `bytes` shows sizes and a rate; `count` shows value/total. */
  unit: 'bytes' | 'count';
  /** Milliseconds before the bar appears (DSN_PROGRESS_DELAY_MS overrides; default 1000). */
  delayMs?: number;
  /** When set, the ETA shown (seconds), instead of cli-progress's own estimate. */
  eta?: () => number | undefined;
}

/** The delay before a bar appears: about a second, or DSN_PROGRESS_DELAY_MS. */
export function progressDelayMs(): number {
  const raw = process.env.DSN_PROGRESS_DELAY_MS;
  const n = raw === undefined || raw === '' ? Number.NaN : Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : 1000;
}

/** A bar that appears after `delayMs` if the work is still going, on a TTY only. */
export function lazyBar(opts: BarOptions): Progress {
  if (!opts.stream.isTTY) return NO_PROGRESS;
  const started = performance.now();
  let value = 0;
  /** When `value` last moved: the rate stays that of the transfer while later phases run. */
  let movedAt = started;
  let total = opts.total;
  let phase = '';
  let stopped = false;
  let bar: cliProgress.SingleBar | undefined;

  const payload = () => {
    const seconds = (movedAt - started) / 1000;
    const eta = opts.eta?.();
    return {
      label: opts.label,
      done: opts.unit === 'bytes' ? formatBytes(value) : String(value),
      size: opts.unit === 'bytes' ? formatBytes(total) : String(total),
      rate: opts.unit === 'bytes' && seconds > 0 ? `${formatBytes(value / seconds)}/s` : '',
      etaText: eta === undefined ? '' : `ETA ${formatDuration(eta)}`,
      phase,
    };
  };
  const show = () => {
    if (stopped || bar) return;
    bar = new cliProgress.SingleBar(
      {
        stream: opts.stream,
        format:
          opts.unit === 'bytes'
            ? '{label} |{bar}| {percentage}% {done}/{size} {rate} {phase}'
            : '{label} |{bar}| {percentage}% {done}/{size} {etaText} {phase}',
        barCompleteChar: '\u2588',
        barIncompleteChar: '\u2591',
        barsize: 30,
        hideCursor: true,
        linewrap: false,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), value, payload());
    shown.add(bar);
  };
  const timer = setTimeout(show, opts.delayMs ?? progressDelayMs());
  timer.unref();

  return {
    update(v, p) {
      if (v !== value) movedAt = performance.now();
      value = v;
      if (p !== undefined) phase = p;
      bar?.update(value, payload());
    },
    setTotal(t) {
      total = t;
      bar?.setTotal(Math.max(t, 1));
    },
    note(text) {
      // Over the bar's line, if it is up; it draws itself again on the next line at its next tick.
      opts.stream.write(`${bar ? '\r\x1b[K' : ''}${text}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      if (bar) {
        bar.update(value, payload());
        bar.stop();
        shown.delete(bar);
      }
    },
  };
}
