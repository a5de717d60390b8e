/**
 * Signature rules in two of ClamAV's line formats, and the streaming match of an object against
 * them. One rules text may mix both kinds of line:
 *
 * - `.hdb` (hash): `hash:size:name`. The hash is SHA-256 (64 hex digits) or MD5 (32, ClamAV's
 *   own `.hdb`); size is the object's size in bytes, or `*` for any size.
 * - `.ndb` (body pattern): `name:target:offset:hexsig[:minFL[:maxFL]]`. Supported: target `0`
 *   (any file), offset `*` (anywhere) or a plain decimal byte offset, and a plain hex signature of
 *   at least 2 bytes. The functionality levels are accepted and ignored.
 *
 * Anything else (SHA-1 hashes, PE/ELF/... targets, `EOF-n` or `EP+n` offsets, wildcards such as
 * `??`, `*`, `{n}`, `(a|b)`) is skipped with the reason, never guessed at.
 */
import { createHash, type Hash } from 'node:crypto';

export interface HashSignature {
  name: string;
  algorithm: 'sha256' | 'md5';
  /** Lowercase hex. */
  hash: string;
  /** Undefined: any size. */
  size?: number;
}

export interface BytePattern {
  name: string;
  bytes: Buffer;
  /** Where the pattern must start; undefined: anywhere. */
  offset?: number;
}

export interface RuleSet {
  hashes: HashSignature[];
  patterns: BytePattern[];
}

/** A line of a rules text that no signature came from, and why. */
export interface SkippedLine {
  /** 1-based. */
  line: number;
  text: string;
  reason: string;
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const DECIMAL = /^\d+$/;
/** ClamAV's own minimum for a body signature: a shorter one matches nearly everything. */
const MIN_PATTERN_BYTES = 2;

type Parsed = HashSignature | BytePattern | { reason: string };

function parseHashLine(fields: string[]): Parsed {
  const [hash = '', size = '', name = ''] = fields;
  if (name === '') return { reason: 'the signature name (third field) is empty' };
  if (size !== '*' && !DECIMAL.test(size))
    return { reason: `size must be a decimal byte count or *, got "${size}"` };
  const algorithm =
    hash.length === 64 ? 'sha256' : hash.length === 32 ? 'md5' : hash.length === 40 ? 'sha1' : '';
  if (!HEX.test(hash) || algorithm === '')
    return { reason: 'the hash must be SHA-256 (64 hex digits) or MD5 (32 hex digits)' };
  if (algorithm === 'sha1') return { reason: 'SHA-1 hashes are not supported; use SHA-256' };
  return {
    name,
    algorithm,
    hash: hash.toLowerCase(),
    ...(size === '*' ? {} : { size: Number(size) }),
  };
}

function parsePatternLine(fields: string[]): Parsed {
  const [name = '', target = '', offset = '', hexsig = ''] = fields;
  if (name === '') return { reason: 'the signature name (first field) is empty' };
  if (fields.length > 6)
    return { reason: 'an .ndb line has at most 6 fields (name:target:offset:hexsig:minFL:maxFL)' };
  if (target !== '0') return { reason: `target ${target} is not supported; only 0 (any file) is` };
  if (offset !== '*' && !DECIMAL.test(offset))
    return {
      reason: `offset "${offset}" is not supported; only * (anywhere) or a decimal byte offset are`,
    };
  if (!HEX.test(hexsig))
    return {
      reason: 'only plain hex signatures are supported (no wildcards such as ??, *, {n}, (a|b))',
    };
  if (hexsig.length / 2 < MIN_PATTERN_BYTES)
    return { reason: `a signature needs at least ${MIN_PATTERN_BYTES} bytes` };
  return {
    name,
    bytes: Buffer.from(hexsig, 'hex'),
    ...(offset === '*' ? {} : { offset: Number(offset) }),
  };
}

/**
 * Parses a rules text: blank lines and `#` comments are ignored, every other line gives a
 * signature or a skipped line with its reason.
 */
export function parseRules(text: string): { rules: RuleSet; skipped: SkippedLine[] } {
  const rules: RuleSet = { hashes: [], patterns: [] };
  const skipped: SkippedLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(':');
    const parsed: Parsed =
      fields.length === 3
        ? parseHashLine(fields)
        : fields.length >= 4
          ? parsePatternLine(fields)
          : {
              reason:
                'neither an .hdb line (hash:size:name) nor an .ndb line (name:target:offset:hexsig)',
            };
    if ('reason' in parsed) skipped.push({ line: i + 1, text: line, reason: parsed.reason });
    else if ('hash' in parsed) rules.hashes.push(parsed);
    else rules.patterns.push(parsed);
  });
  return { rules, skipped };
}

/** Both sets' signatures in one. */
export function mergeRules(...sets: RuleSet[]): RuleSet {
  return {
    hashes: sets.flatMap((s) => s.hashes),
    patterns: sets.flatMap((s) => s.patterns),
  };
}

/**
 * One object's match against a rule set, fed chunk by chunk. Memory is bounded by the longest
 * pattern, whatever the object's size: a pattern that straddles two chunks is found in the
 * carried tail of the earlier one joined to the head of the next.
 */
export class SignatureMatcher {
  private readonly hashes: Map<string, HashSignature[]>;
  private readonly anywhere: BytePattern[];
  private readonly anchored: Array<{ pattern: BytePattern; got: Uint8Array; filled: number }>;
  /**
   * Per algorithm, the digest and the largest size its signatures name (Infinity when one says
   * `*`). An object that grows past that size can match none of them, so its digest stops
   * there, as ClamAV's does: the built-in EICAR hash names 68 bytes, and hashing every large
   * object whole for it cost a writer 6.7 ms per 8 MiB, 1.4 ms without.
   */
  private readonly digests = new Map<'sha256' | 'md5', { hash: Hash; upTo: number }>();
  /** The last `longest - 1` bytes seen, for patterns that straddle chunks. */
  private tail: Uint8Array = new Uint8Array(0);
  private readonly keep: number;
  private position = 0;
  private found: string | undefined;

  constructor(rules: RuleSet) {
    this.hashes = Map.groupBy(rules.hashes, (h) => `${h.algorithm}:${h.hash}`);
    for (const h of rules.hashes) {
      const digest = this.digests.get(h.algorithm) ?? { hash: createHash(h.algorithm), upTo: 0 };
      digest.upTo = Math.max(digest.upTo, h.size ?? Number.POSITIVE_INFINITY);
      this.digests.set(h.algorithm, digest);
    }
    this.anywhere = rules.patterns.filter((p) => p.offset === undefined);
    this.anchored = rules.patterns
      .filter((p) => p.offset !== undefined)
      .map((pattern) => ({ pattern, got: new Uint8Array(pattern.bytes.length), filled: 0 }));
    this.keep = Math.max(0, ...this.anywhere.map((p) => p.bytes.length - 1));
  }

  /** The algorithms whose digest this object still needs: none once it outgrew every sized hash. */
  get hashing(): ('sha256' | 'md5')[] {
    return [...this.digests.keys()].sort();
  }

  /** The name of the first body pattern found so far; hashes are known only at `finish`. */
  get match(): string | undefined {
    return this.found;
  }

  /** Feeds the next chunk. Once a pattern matched, later chunks change nothing. */
  update(chunk: Uint8Array): void {
    if (this.found !== undefined || chunk.length === 0) return;
    const size = this.position + chunk.length;
    for (const [algorithm, digest] of this.digests) {
      if (size > digest.upTo) this.digests.delete(algorithm);
      else digest.hash.update(chunk);
    }
    const data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.found = this.matchAnchored(data) ?? this.matchAnywhere(data);
    this.position += chunk.length;
  }

  private matchAnchored(data: Buffer): string | undefined {
    const end = this.position + data.length;
    for (const a of this.anchored) {
      const start = a.pattern.offset as number;
      const from = Math.max(start + a.filled, this.position);
      const to = Math.min(start + a.got.length, end);
      if (from >= to) continue;
      a.got.set(data.subarray(from - this.position, to - this.position), from - start);
      a.filled = to - start;
      if (a.filled === a.got.length && Buffer.compare(a.got, a.pattern.bytes) === 0)
        return a.pattern.name;
    }
    return undefined;
  }

  private matchAnywhere(data: Buffer): string | undefined {
    if (this.anywhere.length === 0) return undefined;
    // Matches that start in the carried tail end within the chunk's first `keep` bytes.
    const seam = Buffer.concat([this.tail, data.subarray(0, this.keep)]);
    const hit = this.anywhere.find((p) => seam.includes(p.bytes) || data.includes(p.bytes));
    const joined = data.length >= this.keep ? data : Buffer.concat([this.tail, data]);
    // A copy, so the tail does not hold the whole chunk's memory.
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - this.keep)));
    return hit?.name;
  }

  /** The name of the signature the object matched, or undefined when it matched none. */
  finish(): string | undefined {
    if (this.found !== undefined) return this.found;
    for (const algorithm of ['sha256', 'md5'] as const) {
      const digest = this.digests.get(algorithm);
      if (!digest) continue;
      const hit = this.hashes
        .get(`${algorithm}:${digest.hash.digest('hex')}`)
        ?.find((h) => h.size === undefined || h.size === this.position);
      if (hit) return hit.name;
    }
    return undefined;
  }
}
