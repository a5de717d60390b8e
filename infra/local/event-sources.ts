/**
 * The functions' event sources, as serverless.yml declares them: an SQS poller per enabled
 * `sqs` event (started here, as Lambda's event source mapping), and the `httpApi` routes and
 * enabled `schedule` targets, which the HTTP API and the scheduler take.
 */
import type { HttpRoute } from './http-api.ts';
import { resolveIntrinsics } from './intrinsics.ts';
import { LOCAL_ACCOUNT_ID, type ProvisionedStack } from './provision.ts';
import type { ScheduledTarget } from './schedule.ts';
import { type ResolvedService, ServiceConfigError } from './service.ts';
import { type SqsPoller, startSqsPoller } from './sqs-source.ts';

export interface EventSourceOptions {
  service: ResolvedService;
  stack: ProvisionedStack;
  region: string;
  invoke: (functionKey: string, event: unknown) => Promise<unknown>;
  /** Where the pollers started go (the cloud's stop signals and awaits them). */
  pollers: SqsPoller[];
  /** Concurrent batches per SQS event source. */
  sqsPollers?: number;
  /** The access key each function's role signs with (its event source mappings use it). */
  roleKey?: (functionKey: string) => string | undefined;
  log: (line: string) => void;
}

/** Starts the SQS pollers; returns the routes and the scheduled targets. */
export function wireEventSources(opts: EventSourceOptions): {
  routes: HttpRoute[];
  targets: ScheduledTarget[];
} {
  const { service, stack, region } = opts;
  const routes: HttpRoute[] = [];
  const targets: ScheduledTarget[] = [];
  for (const fn of service.functions) {
    fn.events.forEach((event, i) => {
      const field = `functions.${fn.key}.events[${i}]`;
      if (event.type === 'sqs') {
        if (!event.enabled) return;
        const arn = String(resolveIntrinsics(event.arn, stack.context, `${field}.sqs.arn`));
        const queueUrl = stack.queueUrlByArn.get(arn);
        if (!queueUrl) {
          throw new ServiceConfigError(`${field}.sqs.arn`, `no queue declared with ARN ${arn}`);
        }
        opts.pollers.push(
          startSqsPoller({
            queueUrl,
            queueArn: arn,
            region,
            source: event,
            invoke: (e) => opts.invoke(fn.key, e),
            concurrency: opts.sqsPollers,
            accessKeyId: opts.roleKey?.(fn.key),
            log: (line) => opts.log(`[${fn.name} sqs] ${line}`),
          }),
        );
      } else if (event.type === 'httpApi') {
        routes.push({ functionName: fn.key, event });
      } else if (event.type === 'schedule' && event.enabled) {
        targets.push({
          functionName: fn.key,
          expression: event.expression,
          input: event.input,
          ruleArn: `arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/${fn.name}-schedule-${i}`,
        });
      }
    });
  }
  return { routes, targets };
}
