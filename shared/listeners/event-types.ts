/**
 * The event types a listener may ask for. A module that imports nothing, so the CLI can name
 * them in its help without loading the listeners system (and zod) at start-up.
 */
export const EVENT_TYPES = [
  'object.committed',
  'object.deleted',
  'object.lost',
  'object.repaired',
] as const;
export type ListenerEventType = (typeof EVENT_TYPES)[number];
