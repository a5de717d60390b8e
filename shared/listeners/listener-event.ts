/**
 * The event a listening node receives (one per node, carrying the paths it matched there), and
 * the document each listener gets, whose shape is part of the API: black-box clients read it.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ObjectEvent } from '../store/index.ts';
import { EVENT_TYPES, type ListenerEventType } from './event-types.ts';
import type { Listener } from './listener.ts';

/** An object event with its stable id and its place in the key's sequence. */
export interface SequencedEvent {
  id: string;
  type: ListenerEventType;
  vault: string;
  key: string;
  revision: string;
  size?: number;
  sha256?: string;
  sequence: number;
  time: string;
}

/** A participant entry a node was found in: the path, and the version it was read at. */
export interface MatchedPath {
  path: string;
  version: number;
}

/** The one message a listening node gets for an event. */
export interface NodeMessage {
  event: SequencedEvent;
  matched: MatchedPath[];
}

/**
 * The event's id: the same for every rerun of the task that announces it and every redelivery,
 * so at-least-once delivery can be deduplicated by it.
 */
export function eventId(event: ObjectEvent): string {
  return createHash('sha256')
    .update(JSON.stringify([event.type, event.vault, event.key, event.revision, event.time]))
    .digest('hex')
    .slice(0, 32);
}

/** The event with its id and sequence number. */
export function sequenced(event: ObjectEvent, sequence: number): SequencedEvent {
  return {
    id: eventId(event),
    type: event.type,
    vault: event.vault,
    key: event.key,
    revision: event.revision,
    ...(event.type === 'object.deleted' ? {} : { size: event.size, sha256: event.sha256 }),
    sequence,
    time: event.time,
  };
}

/** The document `listener` gets, fields in the documented order; no size or sha256 on a delete. */
export function eventDocument(event: SequencedEvent, listener: Pick<Listener, 'id' | 'path'>) {
  return {
    id: event.id,
    type: event.type,
    vault: event.vault,
    key: event.key,
    revision: event.revision,
    ...(event.type === 'object.deleted' ? {} : { size: event.size, sha256: event.sha256 }),
    sequence: event.sequence,
    time: event.time,
    listener: listener.id,
    matched: listener.path,
  };
}
export type EventDocument = ReturnType<typeof eventDocument>;

/** A node message as its queue carries it: parsed, never cast. */
export const nodeMessageSchema = z.object({
  event: z.object({
    id: z.string().min(1),
    type: z.enum(EVENT_TYPES),
    vault: z.string().min(1),
    key: z.string().min(1),
    revision: z.string(),
    size: z.number().optional(),
    sha256: z.string().optional(),
    sequence: z.int().min(1),
    time: z.string(),
  }),
  matched: z.array(z.object({ path: z.string(), version: z.int().min(0) })).min(1),
});
