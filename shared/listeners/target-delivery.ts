/**
 * Handing one event document to one target, with retries: a webhook's answer other than 2xx,
 * a timeout, or a failed send is tried again after a growing delay, up to `attempts` times.
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import { messageGroupOf } from './fan-out.ts';
import type { Target } from './listener.ts';
import type { EventDocument } from './listener-event.ts';
import type { TargetSender } from './ports.ts';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Delay before the second try; each later one doubles it. */
  firstDelayMs: number;
  /** How long a webhook may take to answer. */
  timeoutMs: number;
}

/** Five tries, 0.2 s apart and doubling (3 s of waits in all), 5 s per webhook call. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, firstDelayMs: 200, timeoutMs: 5000 };

/** The GitHub convention: `sha256=` and the hex HMAC-SHA256 of the raw body under the secret. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export type DeliveryResult =
  | { ok: true; attempts: number }
  | { ok: false; attempts: number; error: string };

async function attempt(
  targets: TargetSender,
  target: Target,
  document: EventDocument,
  timeoutMs: number,
): Promise<string | undefined> {
  const body = JSON.stringify(document);
  try {
    switch (target.type) {
      case 'sqs':
        await targets.sendToQueue(
          target.queueUrl,
          body,
          messageGroupOf(document.vault, document.key),
          `${document.id}-${document.listener}`.slice(0, 128),
        );
        return undefined;
      case 'lambda':
        await targets.invokeAsync(target.functionName, body);
        return undefined;
      case 'webhook': {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'x-dsn-event-id': document.id,
        };
        if (target.secret !== undefined)
          headers['x-dsn-signature'] = signature(target.secret, body);
        const answer = await targets.postWebhook(target.url, body, headers, timeoutMs);
        if ('error' in answer) return answer.error;
        return answer.status >= 200 && answer.status < 300 ? undefined : `HTTP ${answer.status}`;
      }
    }
  } catch (err) {
    return describeError(err).message;
  }
}

/** Delivers `document` to `target`, retrying with exponential back-off; never throws. */
export async function deliverToTarget(
  deps: { targets: TargetSender; retry: RetryPolicy; clock: Clock },
  target: Target,
  document: EventDocument,
): Promise<DeliveryResult> {
  let error = '';
  for (let i = 0; i < deps.retry.attempts; i++) {
    if (i > 0) await deps.clock.sleep(deps.retry.firstDelayMs * 2 ** (i - 1));
    const failure = await attempt(deps.targets, target, document, deps.retry.timeoutMs);
    if (failure === undefined) return { ok: true, attempts: i + 1 };
    error = failure;
  }
  return { ok: false, attempts: deps.retry.attempts, error };
}
