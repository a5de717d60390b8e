/**
 * How the local cloud stops: in seconds, whatever is in flight. A service manager, a test runner
 * or Ctrl-C expects a process gone soon after its signal, and a rebuild step, a long poll or an
 * upload whose client went quiet can each run for minutes. So a stop has three phases:
 *
 * 1. drain: nothing new is taken (the API stops listening and answers 503, pollers and
 *    schedules stop, the invoker refuses new invocations);
 * 2. grace: work in flight gets `graceMs` to finish (a PUT about to be answered);
 * 3. cut: what is left is ended, each step within what remains of the budget, and a step that
 *    overruns is left behind (the process exit ends it) rather than waited for.
 *
 * The parts of the cloud register their steps as they start; the report says what was cut.
 */
import { performance } from 'node:perf_hooks';

/** Work in flight may finish for this long once a stop begins. */
export const STOP_GRACE_MS = 1000;
/** The cut phase, after the grace: terminating workers, closing emulators, releasing the lock. */
export const CUT_BUDGET_MS = 2000;
/** A cut step gets at least this, so the last ones (the lock) run even after one overran. */
const STEP_FLOOR_MS = 100;

/** What a stop ended before it was done. */
export interface CutShort {
  /** Invocations whose execution environment was terminated, by function key. */
  invocations: Record<string, number>;
  /** Requests to the HTTP API not yet answered. */
  httpRequests: number;
  /** Idle keep-alive connections to the HTTP API, closed. */
  keepAliveConnections: number;
  /** Requests to the emulators (S3, SNS, SQS, DynamoDB, Step Functions) not yet answered. */
  awsRequests: number;
  /** Step Functions executions marked failed (a redrive resumes them). */
  executions: number;
  /** Steps that did not finish within the budget, left to the process exit. */
  overran: string[];
}

export interface StopReport {
  ms: number;
  cut: CutShort;
  /** One line for a person: "stopped in 1.2 s; cut short: 1 rebuilder invocation, ...". */
  line: string;
}

export interface StopOptions {
  /** How long work in flight may go on before it is cut; default STOP_GRACE_MS. */
  graceMs?: number;
  /** How long the cut phase may take; default CUT_BUDGET_MS. */
  cutBudgetMs?: number;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "1 rebuilder invocation, 2 HTTP requests, 3 keep-alive connections", or "nothing". */
function describeCut(cut: CutShort): string {
  const parts = Object.entries(cut.invocations)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([fn, n]) => plural(n, `${fn} invocation`));
  if (cut.executions) parts.push(plural(cut.executions, 'Step Functions execution'));
  if (cut.httpRequests) parts.push(plural(cut.httpRequests, 'HTTP request'));
  if (cut.keepAliveConnections)
    parts.push(plural(cut.keepAliveConnections, 'keep-alive connection'));
  if (cut.awsRequests) parts.push(plural(cut.awsRequests, 'emulator request'));
  return parts.length ? parts.join(', ') : 'nothing';
}

export function stopLine(ms: number, cut: CutShort): string {
  const overran = cut.overran.length ? `; did not stop in time: ${cut.overran.join(', ')}` : '';
  const took = ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
  return `stopped in ${took}; cut short: ${describeCut(cut)}${overran}`;
}

export function emptyCut(): CutShort {
  return {
    invocations: {},
    httpRequests: 0,
    keepAliveConnections: 0,
    awsRequests: 0,
    executions: 0,
    overran: [],
  };
}

export interface CutContext {
  cut: CutShort;
  /** What is left of the budget, for steps that wait on something (at least a floor). */
  remainingMs(): number;
}

type Step = { name: string; run: (ctx: CutContext) => unknown };

/** Settles with the promise, or with undefined after `ms`; true when it settled in time. */
async function within(ms: number, work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

export class Shutdown {
  private readonly drains: Step[] = [];
  private readonly inFlight: Array<() => Promise<unknown>> = [];
  private readonly cuts: Step[] = [];
  private running: Promise<StopReport> | undefined;
  private readonly log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.log = log;
  }

  /** True once a stop has begun: failures of work in flight are expected from then on. */
  get started(): boolean {
    return this.running !== undefined;
  }

  /** Phase 1: stop taking new work. Runs at once, latest registered first. */
  onDrain(name: string, run: (ctx: CutContext) => unknown): void {
    this.drains.push({ name, run });
  }

  /** Phase 2: settles when this part has nothing in flight; the grace waits for all of them. */
  whileInFlight(settled: () => Promise<unknown>): void {
    this.inFlight.push(settled);
  }

  /** Phase 3: ends this part; latest registered first, so a part stops before what it uses. */
  onCut(name: string, run: (ctx: CutContext) => unknown): void {
    this.cuts.push({ name, run });
  }

  /** Stops once; a second call gets the first one's report. */
  run(options: StopOptions = {}): Promise<StopReport> {
    this.running ??= this.stop(
      options.graceMs ?? STOP_GRACE_MS,
      options.cutBudgetMs ?? CUT_BUDGET_MS,
    );
    return this.running;
  }

  private async stop(graceMs: number, cutBudgetMs: number): Promise<StopReport> {
    const started = performance.now();
    const deadline = started + graceMs + cutBudgetMs;
    const cut = emptyCut();
    const ctx: CutContext = {
      cut,
      remainingMs: () => Math.max(STEP_FLOOR_MS, deadline - performance.now()),
    };
    const runStep = async (step: Step) => {
      const work = Promise.resolve()
        .then(() => step.run(ctx))
        .catch((err: Error) => this.log(`stopping ${step.name}: ${err.message}`));
      if (!(await within(ctx.remainingMs(), work))) cut.overran.push(step.name);
    };
    for (const step of this.drains.splice(0).reverse()) await runStep(step);
    const grace = Promise.all(this.inFlight.splice(0).map((settled) => settled().catch(() => {})));
    await within(graceMs, grace);
    for (const step of this.cuts.splice(0).reverse()) await runStep(step);
    const ms = performance.now() - started;
    return { ms, cut, line: stopLine(ms, cut) };
  }
}
