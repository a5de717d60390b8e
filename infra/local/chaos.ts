/**
 * Bit rot on demand, for demos and tests: flips one byte in each of N randomly chosen slice
 * files of the unit buckets, on disk, behind the S3 emulator's back. fauxqs keeps only object
 * metadata in memory and reads bodies from `<dataDir>/s3/buckets/<bucket>/objects/<key>.data`
 * on every GET (see infra/local/fauxqs.ts), so the next read returns the flipped byte while
 * S3's stored checksum still describes the old bytes, as real bit rot would.
 */
import { randomInt } from 'node:crypto';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSliceName } from '../../shared/codec/slice-name.ts';
import type { ChaosRequest } from '../../shared/store/fault.ts';

export interface FlippedSlice {
  unit: number;
  bucket: string;
  /** The slice file's key in the unit bucket. */
  key: string;
  /** Byte offset in the stored slice (header or payload: both are checksummed). */
  offset: number;
  vault: string;
  /** The object the slice belongs to, as `dsn explain` takes it; null once its revision is gone. */
  objectKey: string | null;
  revision: string;
  segment: number;
  pillar: number;
}

/** The object key a revision was written for, from the ledger; undefined when it is gone. */
export type RevisionKeys = (revision: string) => Promise<string | undefined>;

export interface ChaosResult {
  requested: number;
  /** Slice files there were to choose from. */
  available: number;
  flipped: FlippedSlice[];
}

interface Candidate {
  unit: number;
  bucket: string;
  key: string;
  dataPath: string;
}

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
function seededRandom(seed: number): (below: number) => number {
  let a = seed >>> 0;
  return (below) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

async function* metaFiles(dir: string): AsyncGenerator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* metaFiles(path);
    else if (entry.name.endsWith('.meta.json')) yield path;
  }
}

function isSliceOf(key: string, vault: string | undefined): boolean {
  try {
    const name = parseSliceName(key);
    return vault === undefined || name.vault === vault;
  } catch {
    return false;
  }
}

/** Every non-empty slice file of the given units, sorted so a seed picks the same ones again. */
async function candidates(
  bucketsDir: string,
  units: Array<{ unit: number; bucket: string }>,
  vault: string | undefined,
  key: string | undefined,
  keyOf: RevisionKeys,
): Promise<Candidate[]> {
  const keys = new Map<string, string | undefined>();
  const ofKey = async (revision: string): Promise<boolean> => {
    if (!keys.has(revision)) keys.set(revision, await keyOf(revision));
    return keys.get(revision) === key;
  };
  const found: Candidate[] = [];
  for (const { unit, bucket } of units) {
    for await (const metaPath of metaFiles(join(bucketsDir, bucket, 'objects'))) {
      // The key comes from the metadata file: fauxqs percent-encodes some characters in paths.
      const meta = JSON.parse(await readFile(metaPath, 'utf8')) as {
        key?: string;
        contentLength?: number;
      };
      if (typeof meta.key !== 'string' || !meta.contentLength) continue;
      if (!isSliceOf(meta.key, vault)) continue;
      if (key !== undefined && !(await ofKey(parseSliceName(meta.key).revision))) continue;
      const dataPath = `${metaPath.slice(0, -'.meta.json'.length)}.data`;
      found.push({ unit, bucket, key: meta.key, dataPath });
    }
  }
  return found.sort((a, b) => a.unit - b.unit || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Slices each unit's bucket holds (objects whose key is a slice name; staging and other files
 * are not counted), for the console's unit grid. Reads each object's metadata file: meant for
 * the local cloud's sizes, not for millions of slices.
 */
export async function sliceCounts(
  bucketsDir: string,
  units: Array<{ unit: number; bucket: string }>,
): Promise<Array<{ unit: number; bucket: string; slices: number }>> {
  const counts = [];
  for (const { unit, bucket } of units) {
    let slices = 0;
    for await (const metaPath of metaFiles(join(bucketsDir, bucket, 'objects'))) {
      const meta = JSON.parse(await readFile(metaPath, 'utf8')) as { key?: string };
      if (typeof meta.key === 'string' && isSliceOf(meta.key, undefined)) slices++;
    }
    counts.push({ unit, bucket, slices });
  }
  return counts;
}

/** Flips one byte (all eight bits) in each of `request.slices` distinct random slice files. */
export async function flipRandomSlices(
  bucketsDir: string,
  units: Array<{ unit: number; bucket: string }>,
  request: ChaosRequest,
  keyOf: RevisionKeys,
): Promise<ChaosResult> {
  const random =
    request.seed === undefined ? (below: number) => randomInt(below) : seededRandom(request.seed);
  const pool = await candidates(bucketsDir, units, request.vault, request.key, keyOf);
  const count = Math.min(request.slices, pool.length);
  const flipped: FlippedSlice[] = [];
  // A partial Fisher-Yates shuffle: the first `count` entries become a uniform sample.
  for (let i = 0; i < count; i++) {
    const j = i + random(pool.length - i);
    [pool[i], pool[j]] = [pool[j] as Candidate, pool[i] as Candidate];
    const chosen = pool[i] as Candidate;
    const { size } = await stat(chosen.dataPath);
    if (size === 0) continue;
    const offset = random(size);
    const file = await open(chosen.dataPath, 'r+');
    try {
      const byte = Buffer.alloc(1);
      await file.read(byte, 0, 1, offset);
      byte[0] = (byte[0] as number) ^ 0xff;
      await file.write(byte, 0, 1, offset);
    } finally {
      await file.close();
    }
    const name = parseSliceName(chosen.key);
    flipped.push({
      unit: chosen.unit,
      bucket: chosen.bucket,
      key: chosen.key,
      offset,
      vault: name.vault,
      objectKey: (await keyOf(name.revision)) ?? null,
      revision: name.revision,
      segment: name.segment,
      pillar: name.pillar,
    });
  }
  return { requested: request.slices, available: pool.length, flipped };
}
