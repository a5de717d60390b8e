/**
 * The scanner port: what the scan task streams each committed object through. The built-in one
 * matches signatures (signatures.ts); an adapter may ask an outside engine (clamd). Scanners
 * see the object as a stream of chunks, never a whole large object in memory.
 */
import type { ContentScanSession, ScanVerdict } from '../store/index.ts';
import { mergeRules, type RuleSet, SignatureMatcher } from './signatures.ts';

/** What one scanner concluded about one object (the store's port, which writers feed too). */
export type Verdict = ScanVerdict;

/** One object's scan in progress. */
export type ScanSession = ContentScanSession;

export interface Scanner {
  /** Names the engine in a skipped reason or a log line. */
  readonly name: string;
  /** Starts the scan of an object of `size` bytes (unknown to a writer scanning a stream). */
  open(size?: number): Promise<ScanSession>;
}

/**
 * Scans with signature rules loaded at each scan's start: a rules change applies to the scans
 * that start after it, and nothing already scanned is scanned again.
 */
export function signatureScanner(rules: () => Promise<RuleSet>): Scanner {
  return {
    name: 'signatures',
    async open() {
      const matcher = new SignatureMatcher(mergeRules(await rules()));
      return {
        write: async (chunk) => {
          matcher.update(chunk);
          return matcher.match !== undefined;
        },
        finish: async () => {
          const signature = matcher.finish();
          return signature === undefined ? { state: 'clean' } : { state: 'infected', signature };
        },
        abort: () => {},
      };
    },
  };
}

/**
 * One stream fed to several scanners: infected when any finds a signature, clean when all call it
 * clean, otherwise skipped with their reasons.
 */
export function everyScanner(...scanners: Scanner[]): Scanner {
  return {
    name: scanners.map((s) => s.name).join('+'),
    async open(size) {
      const sessions: ScanSession[] = [];
      try {
        for (const scanner of scanners) sessions.push(await scanner.open(size));
      } catch (err) {
        for (const s of sessions) s.abort();
        throw err;
      }
      const known = sessions.map(() => false);
      return {
        async write(chunk) {
          await Promise.all(
            sessions.map(async (s, i) => {
              if (!known[i]) known[i] = await s.write(chunk);
            }),
          );
          return known.every(Boolean);
        },
        async finish() {
          const verdicts = await Promise.all(sessions.map((s) => s.finish()));
          const infected = verdicts.find((v) => v.state === 'infected');
          if (infected) return infected;
          const skipped = verdicts.filter((v) => v.state === 'skipped');
          if (skipped.length === 0) return { state: 'clean' };
          return { state: 'skipped', reason: skipped.map((v) => v.reason).join('; ') };
        },
        abort() {
          for (const s of sessions) s.abort();
        },
      };
    },
  };
}

/** Streams `body` (of `size` bytes) through `scanner`, stopping early once the verdict is known. */
export async function scanStream(
  scanner: Scanner,
  body: AsyncIterable<Uint8Array>,
  size: number,
): Promise<Verdict> {
  const session = await scanner.open(size);
  try {
    for await (const chunk of body) if (await session.write(chunk)) break;
    return await session.finish();
  } catch (err) {
    session.abort();
    throw err;
  }
}
