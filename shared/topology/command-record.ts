/**
 * The audit record of an admin command: who asked, what, when, and each per-unit operation it
 * turned into with its outcome. Written when the command starts (`running`) and again when it
 * ends, so a command that died midway is still on the log.
 */

/** One step of a command, on one unit of a vault (or on the network, `unit: null`). */
export interface Operation {
  unit: number | null;
  /** What was done: `freeze`, `unfreeze`, `release`, `propose`, ... */
  action: string;
  outcome: 'done' | 'unchanged' | 'failed';
  detail?: string;
}

export type CommandState = 'running' | 'succeeded' | 'failed';

export interface CommandRecord {
  id: string;
  command: string;
  args: Record<string, unknown>;
  /** The access key id of the principal that sent it. */
  by: string;
  at: string;
  state: CommandState;
  operations: Operation[];
  finishedAt?: string;
  /** What the command answered (a proposal id, a lease released). */
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

/**
 * A command id that sorts by time (newest last as text): the log lists commands by id. Base-36
 * milliseconds, padded, then random characters so two commands of one millisecond differ.
 */
export function commandId(now: number, random: () => string): string {
  return `${now.toString(36).padStart(9, '0')}-${random()}`;
}
