/**
 * The scanner's rules: the built-in ones, always on, and the text an admin uploads
 * (`PUT /admin/scan-rules`), which replaces the previous upload. A change applies to the scans
 * that start after it (within `RULES_CACHE_MS`); objects already scanned keep their state,
 * nothing is rescanned.
 */
import type { Clock } from '../clock.ts';
import { AdminOnlyError, PayloadTooLargeError } from '../errors.ts';
import type { RulesStore } from './ports.ts';
import { isAdmin, type Principal } from './principal.ts';
import { mergeRules, parseRules, type RuleSet, type SkippedLine } from './signatures.ts';

/**
 * The EICAR test file (68 bytes, the anti-malware industry's harmless test string), by its
 * SHA-256 and by a pattern of its body. The string itself is not written here, so scanners on
 * developers' machines do not flag this source file.
 */
export const BUILTIN_RULES = [
  '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:68:Eicar-Test-Signature',
  'Eicar-Test-Signature.body:0:*:45494341522d5354414e444152442d414e544956495255532d544553542d46494c45',
].join('\n');

/** Uploaded rules are kept in one DynamoDB item (400 KB at most), with room for its fields. */
export const MAX_RULES_BYTES = 350_000;

/** How long a scanner keeps the rules it read before it reads them again. */
export const RULES_CACHE_MS = 10_000;

/** What an upload of rules gave: signatures counted, and the lines skipped with their reasons. */
export interface RulesSummary {
  hashes: number;
  patterns: number;
  skipped: SkippedLine[];
  updatedAt?: string;
}

function summary(text: string, updatedAt?: string): RulesSummary {
  const { rules, skipped } = parseRules(text);
  return { hashes: rules.hashes.length, patterns: rules.patterns.length, skipped, updatedAt };
}

/**
 * Replaces the uploaded rules with `text` (the built-in ones stay). Lines that give no
 * signature are skipped and listed with their reasons; the rest apply to later scans.
 * @throws AdminOnlyError, PayloadTooLargeError
 */
export async function putScanRules(
  deps: { rules: RulesStore; clock: Clock },
  principal: Principal,
  text: string,
): Promise<RulesSummary> {
  if (!isAdmin(principal.policy)) throw new AdminOnlyError('uploading scan rules');
  const size = Buffer.byteLength(text);
  if (size > MAX_RULES_BYTES)
    throw new PayloadTooLargeError(
      `scan rules are ${size} bytes; at most ${MAX_RULES_BYTES} are kept`,
      MAX_RULES_BYTES,
    );
  const updatedAt = deps.clock.date().toISOString();
  await deps.rules.put({ text, updatedAt, updatedBy: principal.accessKeyId });
  return summary(text, updatedAt);
}

/** The uploaded rules as they parse now (empty when none were uploaded). @throws AdminOnlyError */
export async function showScanRules(
  deps: { rules: RulesStore },
  principal: Principal,
): Promise<RulesSummary & { text: string }> {
  if (!isAdmin(principal.policy)) throw new AdminOnlyError('reading scan rules');
  const stored = await deps.rules.get();
  return { ...summary(stored?.text ?? '', stored?.updatedAt), text: stored?.text ?? '' };
}

/** The rules a scan uses: built-in ones and the upload, read again after `RULES_CACHE_MS`. */
export function currentRules(deps: { rules: RulesStore; clock: Clock }): () => Promise<RuleSet> {
  const builtin = parseRules(BUILTIN_RULES).rules;
  let cached: { rules: RuleSet; until: number } | undefined;
  return async () => {
    const now = deps.clock.now();
    if (cached && now < cached.until) return cached.rules;
    const stored = await deps.rules.get();
    const rules = mergeRules(builtin, parseRules(stored?.text ?? '').rules);
    cached = { rules, until: now + RULES_CACHE_MS };
    return rules;
  };
}
