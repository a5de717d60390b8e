/**
 * The event types a listener may ask for. A module that imports nothing, so the CLI can name
 * them in its help without loading the listeners system (and zod) at start-up.
 */
export const EVENT_TYPES = [
  'object.committed',
  'object.deleted',
  'object.lost',
  'object.repaired',
  'object.quarantined',
] as const;
export type ListenerEventType = (typeof EVENT_TYPES)[number];

/**
 * What a listener gets when it names no `events`: the four object events the listeners system
 * was built with. `object.quarantined` (the scanner found a signature, seed 004) is asked for
 * by name, so existing listeners and `dsn watch` see exactly what they saw before scanning.
 */
export const DEFAULT_EVENT_TYPES: readonly ListenerEventType[] = [
  'object.committed',
  'object.deleted',
  'object.lost',
  'object.repaired',
];
