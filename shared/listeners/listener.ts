/**
 * A listener: a client's standing request for the events on one path of one vault, delivered to
 * a target (its own SQS queue, a webhook, a Lambda function). It lives on one delivery node,
 * chosen when it is created (the seed's "process" on that node), and stays there.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { strictObject } from '../validate.ts';
import { DEFAULT_EVENT_TYPES, EVENT_TYPES, type ListenerEventType } from './event-types.ts';
import { hears, isDirectory, listenPathSchema } from './listen-path.ts';

// An SQS queue URL: https://sqs.<region>.amazonaws.com/<account>/<name>, or an emulator's
// http(s)://host[:port]/<account>/<name>; the name as SQS allows it.
const QUEUE_URL = /^https?:\/\/[^/\s]+\/\d{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/;

const httpUrl = z.string({ error: 'must be a string' }).refine(
  (v) => {
    try {
      const url = new URL(v);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  },
  { error: 'must be an http(s) URL' },
);

/** A temporary listener's lifetime, at creation and at each renewal: a second to a week. */
const ttlSecondsSchema = z
  .int({ error: 'must be a whole number of seconds' })
  .min(1)
  .max(7 * 24 * 3600);

/** The body of `PATCH /vaults/{vault}/listeners/{id}`: a temporary listener's new lifetime. */
export const renewalSchema = strictObject({ ttlSeconds: ttlSecondsSchema }, 'a renewal field');

/**
 * Queues named so belong to `dsn watch`: made for one temporary listener, removed with it, by
 * the watch on its way out or by the sweep once the listener has expired.
 */
export const WATCH_QUEUE_PREFIX = 'dsn-watch-';

/** Whether `queueUrl` is a queue `dsn watch` made. */
export function isWatchQueue(queueUrl: string): boolean {
  return (queueUrl.split('/').pop() ?? '').startsWith(WATCH_QUEUE_PREFIX);
}

/**
 * The tag a watch queue's name carries for the access key that made it: the first 16 hex
 * digits of the key id's SHA-256. A key that may not administer a vault may point a listener
 * only at its own watch queues, so it can neither send events into another's watch nor, with
 * a temporary listener left to expire, have the sweep delete another's queue.
 */
export function watchQueueTag(accessKeyId: string): string {
  return createHash('sha256').update(accessKeyId).digest('hex').slice(0, 16);
}

/** The name `dsn watch` gives its queue: the prefix, its key's tag, then `unique`. */
export function watchQueueName(accessKeyId: string, unique: string): string {
  return `${WATCH_QUEUE_PREFIX}${watchQueueTag(accessKeyId)}-${unique}`;
}

/** Whether `queueUrl` is a watch queue made by the key `accessKeyId` (watchQueueName). */
export function isWatchQueueOf(queueUrl: string, accessKeyId: string): boolean {
  const name = queueUrl.split('/').pop() ?? '';
  return name.startsWith(`${WATCH_QUEUE_PREFIX}${watchQueueTag(accessKeyId)}-`);
}

export const targetSchema = z.discriminatedUnion(
  'type',
  [
    strictObject(
      {
        type: z.literal('sqs'),
        queueUrl: z
          .string({ error: 'must be a string' })
          .regex(QUEUE_URL, 'must be an SQS queue URL (https://host/<account id>/<queue name>)'),
      },
      'an sqs target field',
    ),
    strictObject(
      {
        type: z.literal('webhook'),
        url: httpUrl,
        secret: z.string({ error: 'must be a string' }).min(1).max(256).optional(),
      },
      'a webhook target field',
    ),
    strictObject(
      {
        type: z.literal('lambda'),
        functionName: z
          .string({ error: 'must be a string' })
          .regex(/^[A-Za-z0-9:_-]{1,140}$/, 'must be a Lambda function name or ARN'),
      },
      'a lambda target field',
    ),
  ],
  { error: 'must be one of the target types sqs, webhook, lambda' },
);
export type Target = z.output<typeof targetSchema>;

/** The body of `POST /vaults/{vault}/listeners`. */
export const listenerRequestSchema = strictObject(
  {
    path: listenPathSchema,
    recursive: z.boolean({ error: 'must be true or false' }).optional(),
    events: z
      .array(z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` }))
      .min(1, 'must list at least one event type')
      .optional(),
    target: targetSchema,
    /** Seconds until the listener goes away by itself (`dsn watch`'s temporary listeners). */
    ttlSeconds: ttlSecondsSchema.optional(),
  },
  'a listener field',
);
export type ListenerRequest = z.output<typeof listenerRequestSchema>;

export interface Listener {
  id: string;
  vault: string;
  path: string;
  recursive: boolean;
  events: ListenerEventType[];
  target: Target;
  node: number;
  createdAt: string;
  /** Epoch seconds after which the listener is gone (temporary listeners only). */
  expiresAt?: number;
}

/** What a listener has delivered: `GET /vaults/{vault}/listeners/{id}` adds it. */
export interface DeliveryStats {
  delivered: number;
  failed: number;
  lastError?: string;
  lastDeliveredAt?: string;
}

/**
 * The request with its defaults: recursive on a directory or the whole vault, every event type
 * but `object.quarantined` (DEFAULT_EVENT_TYPES).
 */
export function withDefaults(request: ListenerRequest) {
  return {
    path: request.path,
    recursive: request.recursive ?? isDirectory(request.path),
    events: [...new Set(request.events ?? DEFAULT_EVENT_TYPES)],
    target: request.target,
  };
}

/** Whether a temporary listener is gone at `now` (epoch ms). */
export function expired(listener: Pick<Listener, 'expiresAt'>, now: number): boolean {
  return listener.expiresAt !== undefined && listener.expiresAt * 1000 <= now;
}

/** Whether `listener` wants an event of `type` on `key` (an expired one is never asked). */
export function wants(listener: Listener, type: ListenerEventType, key: string) {
  return listener.events.includes(type) && hears(listener.path, listener.recursive, key);
}

/** The listener as the API shows it: a webhook's secret is never echoed. */
export function publicListener(listener: Listener) {
  const { target, expiresAt } = listener;
  return {
    id: listener.id,
    path: listener.path,
    recursive: listener.recursive,
    events: listener.events,
    target: target.type === 'webhook' ? { type: target.type, url: target.url } : target,
    node: listener.node,
    createdAt: listener.createdAt,
    ...(expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt * 1000).toISOString() }),
  };
}
