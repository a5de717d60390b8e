/**
 * What the committer's queue carries: unit statuses, and the writer's nudge. The writer sends a
 * nudge when it recorded a revision's segment count after the last status was counted (so no
 * status will come to trigger the commit); the committer then commits it. Both travel through
 * the status group, so the committer alone decides visibility, as seed 000 has it.
 */
import { z } from 'zod';
import { InvalidParameterError } from '../errors.ts';
import { parseStatusMessage } from './multicast.ts';
import type { UnitStatus } from './revision.ts';

const NudgeSchema = z.strictObject({
  v: z.literal(1),
  nudge: z.string().regex(/^[0-9a-z]{1,64}$/, 'must be a revision id'),
});

export type CommitNudge = z.infer<typeof NudgeSchema>;

/** The nudge for `revision`. */
export function nudgeMessage(revision: string): CommitNudge {
  return { v: 1, nudge: revision };
}

/** One thing for the committer to do. */
export type CommitterInput = { status: UnitStatus } | { nudge: string };

/**
 * Parses a message of the status group: a nudge, or a unit's statuses.
 * @throws InvalidParameterError naming the bad field.
 */
export function parseCommitterMessage(body: string): CommitterInput[] {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (err) {
    throw new InvalidParameterError('status', 'is not JSON', { cause: err });
  }
  if (typeof raw === 'object' && raw !== null && 'nudge' in raw) {
    const parsed = NudgeSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidParameterError(
        ['nudge', ...(issue?.path ?? [])].join('.'),
        issue?.message ?? 'is invalid',
      );
    }
    return [{ nudge: parsed.data.nudge }];
  }
  return parseStatusMessage(body).map((status) => ({ status }));
}
