/** The message that tells workers a vault has new items: `{"vault"}`. */
import type { z } from 'zod';
import { vaultNameSchema } from '../store/index.ts';
import { parseJsonWith, strictObject } from '../validate.ts';

const nudgeSchema = strictObject({ vault: vaultNameSchema }, 'a work nudge field');

/** @throws InvalidParameterError */
export function parseNudge(body: string): { vault: string } {
  return parseJsonWith(nudgeSchema, body);
}

export function nudgeBody(vault: string): string {
  return JSON.stringify({ vault } satisfies z.input<typeof nudgeSchema>);
}
