/**
 * The `schedule` event source: EventBridge rate and cron expressions, firing the function with
 * a Scheduled Event (or the declared `input`) as EventBridge does.
 */
import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';

/** A schedule expression EventBridge would refuse. */
export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
}

const RATE_UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** A parsed expression: when it next fires strictly after `after`. */
export interface Schedule {
  expression: string;
  next(after: Date): Date;
}

/**
 * Parses `rate(5 minutes)` or `cron(0 12 * * ? *)` (AWS's six fields, with Sunday = 1).
 * @throws ScheduleExpressionError naming what is wrong.
 */
export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\(\s*(\d+)\s+([a-z]+)\s*\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2] as string;
    const singular = unit.replace(/s$/, '');
    const ms = RATE_UNITS[singular];
    if (!ms)
      throw new ScheduleExpressionError(`${expression}: unit must be minute(s), hour(s) or day(s)`);
    if (n < 1)
      throw new ScheduleExpressionError(`${expression}: the value must be a positive integer`);
    if ((n === 1) !== (unit === singular)) {
      throw new ScheduleExpressionError(
        `${expression}: use "${singular}" for 1 and "${singular}s" otherwise`,
      );
    }
    const period = n * ms;
    return { expression, next: (after) => new Date(after.getTime() + period) };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) {
    const fields = (cron[1] as string).trim().split(/\s+/);
    if (fields.length !== 6) {
      throw new ScheduleExpressionError(
        `${expression}: cron needs six fields (minutes hours day-of-month month day-of-week year)`,
      );
    }
    if (fields[2] !== '?' && fields[4] !== '?') {
      throw new ScheduleExpressionError(
        `${expression}: one of day-of-month or day-of-week must be "?"`,
      );
    }
    let job: Cron;
    try {
      job = new Cron(`0 ${fields.join(' ')}`, {
        timezone: 'UTC',
        mode: '7-part',
        alternativeWeekdays: true,
        paused: true,
      });
    } catch (err) {
      throw new ScheduleExpressionError(`${expression}: ${(err as Error).message}`);
    }
    return {
      expression,
      next: (after) => {
        const next = job.nextRun(after);
        if (!next) throw new ScheduleExpressionError(`${expression}: never fires again`);
        return next;
      },
    };
  }
  throw new ScheduleExpressionError(`${expression}: expected rate(...) or cron(...)`);
}

export interface ScheduledTarget {
  functionName: string;
  expression: string;
  input: unknown;
  ruleArn: string;
}

export interface SchedulerOptions {
  region: string;
  accountId: string;
  targets: ScheduledTarget[];
  invoke: (functionName: string, event: unknown) => Promise<unknown>;
  log?: (line: string) => void;
}

export interface Scheduler {
  /** Next fire time per target, for start-up output and tests. */
  nextFires(): Array<{ functionName: string; expression: string; at: Date }>;
  stop(): void;
}

/** The event EventBridge sends for a scheduled rule without `input`. */
export function scheduledEvent(region: string, accountId: string, ruleArn: string, at: Date) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: accountId,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [ruleArn],
    detail: {},
  };
}

export function startScheduler(opts: SchedulerOptions): Scheduler {
  const timers = new Set<NodeJS.Timeout>();
  const upcoming = new Map<ScheduledTarget, Date>();
  let stopped = false;

  const arm = (target: ScheduledTarget, schedule: Schedule, from: Date) => {
    if (stopped) return;
    const at = schedule.next(from);
    upcoming.set(target, at);
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        const event =
          target.input === undefined
            ? scheduledEvent(opts.region, opts.accountId, target.ruleArn, at)
            : target.input;
        opts.invoke(target.functionName, event).catch((err: Error) => {
          opts.log?.(`scheduled ${target.functionName} failed: ${err.name}: ${err.message}`);
        });
        arm(target, schedule, at);
      },
      Math.max(0, at.getTime() - Date.now()),
    );
    timers.add(timer);
  };

  for (const target of opts.targets) arm(target, parseSchedule(target.expression), new Date());
  return {
    nextFires: () =>
      opts.targets.map((t) => ({
        functionName: t.functionName,
        expression: t.expression,
        at: upcoming.get(t) as Date,
      })),
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
