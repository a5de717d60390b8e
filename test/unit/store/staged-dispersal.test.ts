/**
 * The disperser's job (staged-dispersal.ts): a staged upload dispersed in steps past an
 * invocation's deadline, each resuming the last; duplicate, stale and failed deliveries; a
 * revision failed meanwhile; the 12 hours a write may stay pending; a delivery cut off after its
 * write ended, or before its first step recorded anything; two first deliveries at once.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { systemClock } from '../../../shared/clock.ts';
import {
  codecFor,
  formatSliceName,
  parseSliceName,
  sliceNamesOf,
} from '../../../shared/codec/index.ts';
import { decodeStream, type FetchedSegment } from '../../../shared/codec/segment-stream.ts';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { GARBAGE_GRACE_MS } from '../../../shared/store/committer.ts';
import { TIMED_OUT } from '../../../shared/store/janitor.ts';
import { MAX_PENDING_AGE_MS, revisionTime } from '../../../shared/store/revision.ts';
import {
  DispersalHeldError,
  disperseUpload,
  parseDispersalMessage,
} from '../../../shared/store/staged-dispersal.ts';
import { isSuperseded, supersededWrite } from '../../../shared/store/superseded-write.ts';
import {
  completeUpload,
  createUpload,
  getUpload,
  putPart,
  type UploadDeps,
} from '../../../shared/store/upload.ts';
import { FOLLOW_UP_MS, followUp, REQUEUE_STALE_MS } from '../../../shared/store/upload-outcome.ts';
import { DEFAULT_VAULT, planVault } from '../../../shared/store/vault.ts';
import { UNCLAIMED, type WriterDeps } from '../../../shared/store/writer.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryLogger } from '../../helpers/logger.ts';
import {
  MemoryDispersalQueue,
  MemoryLedger,
  MemoryMulticast,
  MemoryObjectIndex,
  MemorySliceStore,
  MemoryStagingStore,
  MemoryUploadStore,
  MemoryVaultStore,
} from '../../helpers/memory/index.ts';

const MiB = 1024 * 1024;

/**
 * A staged upload of `size` random bytes in parts of `partSize` on a vault of 1 MiB segments,
 * completed and queued; a writer whose every slice PUT to unit 0 costs a second of the
 * uploads' clock, so a dispersal given a deadline reaches it within a few segments.
 */
async function stagedForSteps(size: number, partSize: number) {
  const clock = new ManualClock();
  const vault = planVault(
    { ...DEFAULT_VAULT, name: 'steps', segmentSize: MiB },
    6,
    [],
    new Date(clock.now()),
  );
  const uploads = new MemoryUploadStore();
  const staging = new MemoryStagingStore(clock);
  const queue = new MemoryDispersalQueue();
  const deps: UploadDeps = {
    vaults: new MemoryVaultStore([vault]),
    uploads,
    staging,
    dispersal: queue,
    clock,
  };
  const slices = new (class extends MemorySliceStore {
    readonly puts = new Map<string, number>();
    override async put(unit: number, key: string, body: Uint8Array, crc32: string) {
      this.puts.set(key, (this.puts.get(key) ?? 0) + 1);
      if (unit === 0) clock.advance(1000);
      await super.put(unit, key, body, crc32);
    }
  })(6);
  const writer: WriterDeps = {
    vaults: deps.vaults,
    ledger: new MemoryLedger(),
    index: new MemoryObjectIndex(),
    slices,
    multicast: new MemoryMulticast(),
    clock: systemClock,
    pendingTimeoutMs: 60_000,
  };
  const body = randomBytes(size);
  const { uploadId } = await createUpload(deps, 'steps', { key: 'big/steps.bin' }, 'ip:test');
  for (let at = 0, part = 1; at < size; at += partSize, part++)
    await putPart(deps, 'steps', uploadId, part, body.subarray(at, at + partSize));
  await completeUpload(deps, 'steps', uploadId);
  /** A step's deadline: a tenth of a second of segments, then a minute to finish. */
  const deadline = () => ({ at: clock.now() + 100, endsAt: clock.now() + 60_000 });
  const all = { ...deps, writer };
  /** Delivers each queued message from the `from`-th on, once, each step with its deadline. */
  const deliverQueued = async (from = 0) => {
    for (let i = from; i < queue.messages.length; i++)
      await disperseUpload(all, queue.messages[i] as { uploadId: string }, 0, deadline());
  };
  return {
    deps: all,
    clock,
    uploads,
    queue,
    slices,
    writer,
    body,
    uploadId,
    deadline,
    deliverQueued,
  };
}

/** A newer write of the fixture's key, committed as `revision` (ids order as strings). */
async function writeNewer(writer: WriterDeps, revision: string): Promise<void> {
  await writer.index.publish({
    vault: 'steps',
    key: 'big/steps.bin',
    revision,
    objectId: 'o',
    size: 1,
    sha256: 'f'.repeat(64),
    segments: 1,
    segmentSize: MiB,
    readThreshold: 4,
    units: [0, 1, 2, 3, 4, 5],
    committedAt: new Date().toISOString(),
  });
}

/** The object the revision's slices decode to. */
async function dispersedBytes(writer: WriterDeps, revision: string): Promise<Buffer> {
  const record = await writer.ledger.get(revision);
  assert.ok(record?.segments !== undefined, `revision ${revision} has its count`);
  const codec = codecFor(record.readThreshold, record.units.length - record.readThreshold);
  const name = sliceNamesOf(record);
  async function* fetched(): AsyncGenerator<FetchedSegment> {
    for (let index = 0; index < (record?.segments ?? 0); index++) {
      const names = record?.units.map((_, pillar) => formatSliceName(name(index, pillar))) ?? [];
      const got = await Promise.all(
        names.map((n, pillar) => writer.slices.get(record?.units[pillar] ?? 0, n)),
      );
      yield { index, names, slices: got };
    }
  }
  return Buffer.concat(await Array.fromAsync(decodeStream(fetched(), codec)));
}

test('a dispersal past its deadline goes in steps: each records its progress and queues the next, one revision in all, each slice sent once, duplicate deliveries change nothing', async () => {
  // Prepare: 5.2 MiB in parts of 1.5 MiB (parts and segments do not line up).
  const { deps, uploads, queue, slices, writer, body, uploadId, deadline } = await stagedForSteps(
    5.2 * MiB,
    1.5 * MiB,
  );

  // Act: deliver every queued message twice, the copy after the first is done.
  const steps: number[] = [];
  const revisions = new Set<string>();
  const dispersed: number[] = [];
  for (let i = 0; i < queue.messages.length; i++) {
    const message = queue.messages[i] as { uploadId: string; step?: number };
    for (let copy = 0; copy < 2; copy++) {
      const outcome = await disperseUpload(deps, message, 0, deadline());
      if (outcome?.state === 'paused') {
        steps.push(message.step ?? 0);
        revisions.add(outcome.revision);
        const view = await getUpload(deps, 'steps', uploadId);
        assert.equal(view.state, 'dispersing');
        assert.equal('progress' in view, false, 'the API answers no saved hash state');
        dispersed.push(view.dispersed ?? -1);
      } else if (outcome) revisions.add(outcome.revision);
    }
    assert.ok(i < 50, 'the dispersal ends');
  }

  // Assess: several steps, each once, growing; one revision holding the staged bytes.
  assert.ok(steps.length >= 3, `steps ${steps.join(',')}`);
  assert.deepEqual(
    steps,
    steps.map((_, i) => i),
  );
  assert.deepEqual(
    dispersed,
    [...dispersed].sort((a, b) => a - b),
  );
  assert.ok(
    dispersed.every((d) => d > 0 && d < body.length && d % MiB === 0),
    // A step never stops at the very end, which would leave its next step nothing to send.
    dispersed.join(),
  );
  assert.equal(revisions.size, 1);
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending', 'no committer here: the write is left to commit');
  const [revision] = revisions;
  assert.equal(ended?.revision, revision);
  const record = await writer.ledger.get(revision as string);
  assert.deepEqual([record?.segments, record?.size], [6, body.length]);
  assert.equal(record?.sha256, createHash('sha256').update(body).digest('hex'));
  assert.ok((await dispersedBytes(writer, revision as string)).equals(body));
  assert.equal(slices.puts.size, 36);
  assert.ok([...slices.puts.values()].every((n) => n === 1));
});

test('a step that fails part-way is delivered again and goes on from the last recorded step, to the same bytes', async () => {
  // Prepare: the second step's first read of staging fails once.
  const { deps, uploads, queue, writer, body, uploadId, deadline, deliverQueued } =
    await stagedForSteps(4.5 * MiB, 2 * MiB);
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  assert.equal(first?.state, 'paused');
  let failOnce = true;
  const readPart = deps.staging.readPart.bind(deps.staging);
  deps.staging.readPart = (id, part, from) => {
    if (!failOnce) return readPart(id, part, from);
    failOnce = false;
    return (async function* () {
      for await (const chunk of readPart(id, part, from)) yield chunk.subarray(0, 1.5 * MiB);
      throw new Error('staging reset the connection');
    })();
  };

  // Act: the failed delivery, then the same message again, then whatever is queued.
  const step1 = queue.messages[1] as { uploadId: string; step?: number };
  assert.deepEqual(step1, { uploadId, step: 1 });
  // This attempt has time to read on past the first segment it was given.
  const long = { at: deps.clock.now() + 3_600_000, endsAt: deps.clock.now() + 7_200_000 };
  await assert.rejects(disperseUpload(deps, step1, 0, long), /reset the connection/);
  assert.equal(
    (await uploads.get(uploadId))?.progress?.step,
    1,
    'the failed step recorded nothing',
  );
  await deliverQueued();

  // Assess
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending');
  assert.equal(ended?.revision, first?.revision);
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
  const record = await writer.ledger.get(ended?.revision as string);
  assert.equal(record?.sha256, createHash('sha256').update(body).digest('hex'));
});

test('a step whose revision the janitor failed meanwhile begins again with a new revision, from the first byte', async () => {
  // Prepare: one step done, then its revision failed (a redelivery that came after the timeout).
  const { deps, uploads, writer, body, uploadId, deadline, deliverQueued } = await stagedForSteps(
    3.5 * MiB,
    MiB,
  );
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  assert.equal(first?.state, 'paused');
  await writer.ledger.fail(first?.revision as string, TIMED_OUT, 0);

  // Act
  await deliverQueued();

  // Assess
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending');
  assert.notEqual(ended?.revision, first?.revision);
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
});

test('a dispersal that surely fits its invocation goes at once: no step recorded, none queued', async () => {
  const { deps, uploads, queue, uploadId } = await stagedForSteps(2.5 * MiB, MiB);
  const outcome = await disperseUpload(deps, { uploadId }, 0, {
    at: deps.clock.now() + 60_000,
    endsAt: deps.clock.now() + 120_000,
  });
  assert.equal(outcome?.state, 'pending');
  assert.equal((await uploads.get(uploadId))?.progress, undefined);
  assert.deepEqual(queue.messages, [{ uploadId }]);
});

test('a dispersal message names its upload and, past the first, its step, or a follow-up of it', () => {
  assert.deepEqual(parseDispersalMessage('{"uploadId":"u1","step":3}'), {
    uploadId: 'u1',
    step: 3,
  });
  assert.deepEqual(parseDispersalMessage('{"uploadId":"u1","followUp":2}'), {
    uploadId: 'u1',
    followUp: 2,
  });
  assert.throws(
    () => parseDispersalMessage('{"uploadId":"u1","step":-1}'),
    (err: unknown) => err instanceof InvalidParameterError && err.field === 'message.step',
  );
  assert.throws(
    () => parseDispersalMessage('{"uploadId":"u1","followUp":0}'),
    (err: unknown) => err instanceof InvalidParameterError && err.field === 'message.followUp',
  );
  assert.throws(
    () => parseDispersalMessage('{"uploadId":"u1","step":1,"followUp":1}'),
    (err: unknown) =>
      err instanceof InvalidParameterError &&
      err.field === 'message.followUp' &&
      /a step or a follow-up, not both/.test(err.message),
  );
});

test('a step cut off between recording its progress and queuing the next: its redelivery queues the next step, once', async () => {
  // Prepare: the queue refuses step 1's message once, as a crash right after `advance` would.
  const { deps, uploads, queue, writer, body, uploadId, deadline, deliverQueued } =
    await stagedForSteps(3.5 * MiB, MiB);
  const enqueue = queue.enqueue.bind(queue);
  let refused = false;
  queue.enqueue = async (id, step) => {
    if (step === 1 && !refused) {
      refused = true;
      throw new Error('the disperser was cut off');
    }
    await enqueue(id, step);
  };
  await assert.rejects(disperseUpload(deps, { uploadId }, 0, deadline()), /cut off/);
  assert.equal((await uploads.get(uploadId))?.progress?.queued, undefined);

  // Act: step 0 comes again, and then again once step 1 is queued.
  await disperseUpload(deps, { uploadId }, 0, deadline());
  await disperseUpload(deps, { uploadId }, 0, deadline());
  await deliverQueued(1);

  // Assess: step 1 queued once, and the dispersal ended with the staged bytes.
  assert.equal(queue.messages.filter((m) => m.step === 1).length, 1);
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending');
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
});

test('a dispersal whose revision was failed for its age (12 h pending) ends the upload failed, saying so, rather than beginning again', async () => {
  // Prepare: one step done; then its revision failed, and the writer's clock 12 h on.
  const { deps, uploads, queue, writer, uploadId, deadline } = await stagedForSteps(3.5 * MiB, MiB);
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  assert.equal(first?.state, 'paused');
  await writer.ledger.fail(first?.revision as string, TIMED_OUT, 0);
  writer.clock = { ...systemClock, now: () => Date.now() + 12 * 3_600_000 };

  // Act
  const outcome = await disperseUpload(
    deps,
    queue.messages[1] as { uploadId: string },
    0,
    deadline(),
  );

  // Assess
  assert.equal(outcome, undefined);
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'failed');
  assert.equal(ended?.revision, first?.revision);
  assert.match(
    ended?.reason ?? '',
    /^the dispersal took longer than a write may stay pending \(12 h\), with \d+ bytes dispersed$/,
  );
  assert.equal(queue.messages.length, 2, 'no step queued after');
});

test('a step that stops leaves its revision pending past the redelivery of its next step, so a failed step resumes rather than begins again', async () => {
  // Prepare: one step done.
  const { deps, queue, writer, uploadId, deadline } = await stagedForSteps(3.5 * MiB, MiB);
  const started = Date.now();
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  assert.equal(first?.state, 'paused');
  const revision = first?.revision as string;

  // Act: the janitor looks when the next step's redelivery would come (90 minutes on).
  const dueAt = (await writer.ledger.get(revision))?.dueAt ?? 0;
  const dueThen = await writer.ledger.due(started + queue.redeliveryMs, 10);

  // Assess
  assert.ok(
    dueAt >= started + queue.redeliveryMs + writer.pendingTimeoutMs,
    `due ${(dueAt - started) / 60_000} minutes on`,
  );
  assert.deepEqual(dueThen, []);
});

test('a delivery cut off after its write ended, before it said so: the redelivery ends the upload as the write did, placing nothing again', async () => {
  // Prepare: a dispersal at once whose outcome the upload store fails to record, as a cut-off
  // invocation would; its revision then commits (the committer's part) and its tasks run.
  const { deps, uploads, slices, writer, body, uploadId } = await stagedForSteps(2.5 * MiB, MiB);
  const transition = uploads.transition.bind(uploads);
  uploads.transition = async () => {
    throw new Error('the disperser was cut off');
  };
  await assert.rejects(disperseUpload(deps, { uploadId }, 0), /cut off/);
  uploads.transition = transition;
  const revision = (await uploads.get(uploadId))?.revision as string;
  assert.ok(revision, 'the upload names the revision its dispersal opened');
  assert.ok(await writer.ledger.commitWhole(revision, 3, new Date()));
  await writer.ledger.markTasksDone(revision);
  const placed = slices.puts.size;

  // Act
  const outcome = await disperseUpload(deps, { uploadId, received: 2 }, 0, {
    at: deps.clock.now() + 100,
    endsAt: deps.clock.now() + 60_000,
  });

  // Assess
  assert.equal(outcome?.state, 'committed');
  const ended = await uploads.get(uploadId);
  assert.deepEqual([ended?.state, ended?.revision], ['committed', revision]);
  assert.equal(ended?.sha256, createHash('sha256').update(body).digest('hex'));
  assert.equal(slices.puts.size, placed, 'no other revision written');
  assert.ok(
    [...slices.puts.values()].every((n) => n === 1),
    'no slice placed twice',
  );
  assert.deepEqual(await deps.staging.listParts(uploadId), [], 'its staged parts deleted');
});

test('a first step cut off mid-way, before it recorded any progress: the redelivery resumes the same revision from its first segment', async () => {
  // Prepare: the first delivery's read of the third part fails.
  const { deps, uploads, writer, body, uploadId, deadline, deliverQueued } = await stagedForSteps(
    4.5 * MiB,
    MiB,
  );
  const readPart = deps.staging.readPart.bind(deps.staging);
  deps.staging.readPart = (id, part, from) => {
    if (part !== 3) return readPart(id, part, from);
    deps.staging.readPart = readPart;
    return (async function* () {
      yield* [];
      throw new Error('staging reset the connection');
    })();
  };
  await assert.rejects(disperseUpload(deps, { uploadId }, 0), /reset the connection/);
  const cut = await uploads.get(uploadId);
  assert.equal(cut?.progress, undefined);
  const opened = cut?.revision as string;
  assert.equal((await writer.ledger.get(opened))?.state, 'pending');

  // Act: the message again (its second delivery), then whatever is queued.
  await disperseUpload(deps, { uploadId, received: 2 }, 0, deadline());
  await deliverQueued(1);

  // Assess: the one revision, holding the staged bytes, hashed over all of them.
  const ended = await uploads.get(uploadId);
  assert.deepEqual([ended?.state, ended?.revision], ['pending', opened]);
  assert.ok((await dispersedBytes(writer, opened)).equals(body));
  const record = await writer.ledger.get(opened);
  assert.equal(record?.sha256, createHash('sha256').update(body).digest('hex'));
});

test('two deliveries of the first step at once: one writes the object; the other drops the revision it opened before placing any slice, and its message comes again', async () => {
  const { deps, uploads, slices, writer, body, uploadId } = await stagedForSteps(2.5 * MiB, MiB);

  // Act
  const outcomes = await Promise.allSettled([
    disperseUpload(deps, { uploadId }, 0),
    disperseUpload(deps, { uploadId }, 0),
  ]);
  const again = await disperseUpload(deps, { uploadId, received: 2 }, 0);

  // Assess
  const written = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const held = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
  assert.equal(written.length, 1, JSON.stringify(outcomes));
  assert.ok(held[0] instanceof DispersalHeldError, String(held[0]));
  const ended = await uploads.get(uploadId);
  assert.deepEqual([ended?.state, ended?.revision], ['pending', written[0]?.revision]);
  assert.equal(again, undefined, 'the message again finds the dispersal done');
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
  const revisions = new Set([...slices.puts.keys()].map((k) => parseSliceName(k).revision));
  assert.equal(revisions.size, 1, `slices of ${[...revisions].join(', ')}`);
  const dropped = (await writer.ledger.due(Number.MAX_SAFE_INTEGER, 10)).filter(
    (r) => r.revision !== ended?.revision,
  );
  assert.deepEqual(
    dropped.map((r) => [r.state, r.reason]),
    [['failed', UNCLAIMED]],
  );
});

test('a claim or an advance whose answer was lost (its retry found it made) counts as made: the write goes on, the next step is queued', async () => {
  // Prepare: each store write applies, then answers no, as a retried request would.
  const { uploads, queue, writer, body, uploadId, deliverQueued } = await stagedForSteps(
    3.5 * MiB,
    MiB,
  );
  const claim = uploads.claimRevision.bind(uploads);
  uploads.claimRevision = async (...args) => {
    await claim(...args);
    return false;
  };
  const advance = uploads.advance.bind(uploads);
  uploads.advance = async (...args) => {
    await advance(...args);
    return false;
  };

  // Act
  await deliverQueued();

  // Assess
  assert.ok(queue.messages.length > 2, `${queue.messages.length} messages`);
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending');
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
});

test('a revision the ledger forgot, with the key written or deleted since: the upload ends failed, saying so, and nothing is written over the newer state', async () => {
  // Prepare: one step done; its revision then failed and purged, and the key deleted since.
  const { deps, uploads, queue, slices, writer, uploadId, deadline } = await stagedForSteps(
    3.5 * MiB,
    MiB,
  );
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  const revision = first?.revision as string;
  await writer.ledger.fail(revision, 'segment 1 can no longer reach 5 of 6 units', 0);
  await writer.ledger.purged(revision);
  // A newer write of the key (ids order as strings), then its delete.
  await writeNewer(writer, `${revision}0`);
  await writer.index.remove('steps', 'big/steps.bin', `${revision}1`, Date.now() + 60_000);
  const placed = slices.puts.size;

  // Act
  const outcome = await disperseUpload(
    deps,
    queue.messages[1] as { uploadId: string },
    0,
    deadline(),
  );

  // Assess
  assert.equal(outcome, undefined);
  const ended = await uploads.get(uploadId);
  assert.deepEqual([ended?.state, ended?.revision], ['failed', revision]);
  assert.equal(
    ended?.reason,
    `its revision ${revision} is no longer in the ledger, and the key was deleted since (${revision}1): the staged bytes are not written over that`,
  );
  assert.equal(slices.puts.size, placed, 'nothing written');
});

/**
 * The fixture's vaults, but on topology `OLD` until `move` switches them to `NEW` (since
 * `since`, epoch ms), as a vote applying a topology change would.
 */
function movingVaults(writer: WriterDeps) {
  const vaults = writer.vaults;
  let topology = { topology: OLD_TOPOLOGY, topologySince: 0 };
  writer.vaults = {
    create: (vault) => vaults.create(vault),
    list: () => vaults.list(),
    get: async (name) => ({ ...(await vaults.get(name)), ...topology }),
  };
  return {
    move: (since: number) => {
      topology = { topology: NEW_TOPOLOGY, topologySince: since };
    },
  };
}
const OLD_TOPOLOGY = 'a'.repeat(64);
const NEW_TOPOLOGY = 'b'.repeat(64);

test('a step whose vault moved to another topology past the grace fails its revision and begins again under the current one, from the first byte', async () => {
  // Prepare: one step done under OLD; then the vault moves to NEW, 10 s before the next step.
  const { deps, uploads, writer, body, uploadId, deadline, deliverQueued } = await stagedForSteps(
    3.5 * MiB,
    MiB,
  );
  const vaults = movingVaults(writer);
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  assert.equal(first?.state, 'paused');
  assert.equal((await writer.ledger.get(first?.revision as string))?.topology, OLD_TOPOLOGY);
  vaults.move(writer.clock.now() - 10_000);

  // Act
  await deliverQueued(1);

  // Assess: the first revision failed by the fence's reason; the object whole under NEW.
  const old = await writer.ledger.get(first?.revision as string);
  assert.equal(old?.state, 'failed');
  assert.ok(isSuperseded(old?.reason), old?.reason);
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending');
  assert.notEqual(ended?.revision, first?.revision);
  assert.equal((await writer.ledger.get(ended?.revision as string))?.topology, NEW_TOPOLOGY);
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
});

test('a write the commit fence failed at its end (the topology changed while it was written) begins again at the next step, not failing the upload', async () => {
  // Prepare: a dispersal at once under OLD; as it records its count, the vault moves to NEW
  // and the committer fences the revision off, as it would past the grace.
  const { deps, uploads, queue, writer, body, uploadId, deadline } = await stagedForSteps(
    2.5 * MiB,
    MiB,
  );
  const vaults = movingVaults(writer);
  const finishWriting = writer.ledger.finishWriting.bind(writer.ledger);
  writer.ledger.finishWriting = async (revision, summary) => {
    const finished = await finishWriting(revision, summary);
    if (finished.topology !== OLD_TOPOLOGY) return finished;
    const now = writer.clock.now();
    vaults.move(now - 10_000);
    const reason = supersededWrite(finished, { id: NEW_TOPOLOGY, since: now - 10_000 }, now);
    assert.ok(reason);
    await writer.ledger.fail(revision, reason, now);
    return finished;
  };

  // Act: the first delivery, twice (SQS at least once), then what it queued.
  const fenced = await disperseUpload(deps, { uploadId }, 0);
  const again = await disperseUpload(deps, { uploadId }, 0);
  const queued = queue.messages.length;
  for (let i = 0; i < queue.messages.length; i++)
    await disperseUpload(deps, queue.messages[i] as { uploadId: string }, 0, deadline());

  // Assess: the fenced write queued one next step, which wrote the object again under NEW.
  assert.equal(fenced?.state, 'failed');
  assert.equal(again, undefined, 'the copy finds the step taken');
  assert.equal(queued, 2, 'the completion, and one next step');
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending');
  assert.notEqual(ended?.revision, fenced?.revision);
  assert.equal((await writer.ledger.get(ended?.revision as string))?.topology, NEW_TOPOLOGY);
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
});

test('a write the janitor timed out while it wrote begins again at the next step; one its units failed ends the upload failed', async () => {
  for (const [reason, beginsAgain] of [
    [TIMED_OUT, true],
    ['segment 1 can no longer reach 5 of 6 units', false],
  ] as const) {
    // Prepare: a dispersal at once, its revision failed as it records its count.
    const { deps, uploads, queue, writer, body, uploadId, deadline } = await stagedForSteps(
      2.5 * MiB,
      MiB,
    );
    const finishWriting = writer.ledger.finishWriting.bind(writer.ledger);
    let failedOnce = false;
    writer.ledger.finishWriting = async (revision, summary) => {
      const finished = await finishWriting(revision, summary);
      if (!failedOnce) await writer.ledger.fail(revision, reason, writer.clock.now());
      failedOnce = true;
      return finished;
    };

    // Act
    const first = await disperseUpload(deps, { uploadId }, 0);
    for (let i = 1; i < queue.messages.length; i++)
      await disperseUpload(deps, queue.messages[i] as { uploadId: string }, 0, deadline());

    // Assess
    assert.equal(first?.state, 'failed', reason);
    const ended = await uploads.get(uploadId);
    if (beginsAgain) {
      assert.equal(ended?.state, 'pending', reason);
      assert.notEqual(ended?.revision, first?.revision);
      assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
    } else {
      assert.deepEqual(
        [ended?.state, ended?.revision, ended?.reason],
        ['failed', first?.revision, reason],
      );
      assert.equal(queue.messages.length, 1, 'no step queued');
    }
  }
});

test('a revision failed by the janitor, with the key written since it was opened: the upload ends failed, rather than begin again over the newer write', async () => {
  // Prepare: one step done; its revision then timed out, and the key written meanwhile.
  const { deps, uploads, queue, slices, writer, uploadId, deadline } = await stagedForSteps(
    3.5 * MiB,
    MiB,
  );
  const first = await disperseUpload(deps, { uploadId }, 0, deadline());
  const revision = first?.revision as string;
  await writer.ledger.fail(revision, TIMED_OUT, 0);
  await writeNewer(writer, `${revision}0`);
  const placed = slices.puts.size;

  // Act
  await disperseUpload(deps, queue.messages[1] as { uploadId: string }, 0, deadline());

  // Assess
  const ended = await uploads.get(uploadId);
  assert.deepEqual([ended?.state, ended?.revision], ['failed', revision]);
  assert.equal(
    ended?.reason,
    `its revision ${revision} failed (${TIMED_OUT}), and the key was written since (${revision}0): the staged bytes are not written over that`,
  );
  assert.equal(slices.puts.size, placed, 'nothing written');
});

/**
 * An upload dispersed at once whose write's wait ran out before its commit: the upload is
 * `pending`, its revision written whole. Looks at it follow that revision (`revisions`).
 */
async function settledPending() {
  const fixture = await stagedForSteps(2.5 * MiB, MiB);
  const { deps, uploads, writer, uploadId } = fixture;
  const outcome = await disperseUpload(deps, { uploadId }, 0);
  assert.equal(outcome?.state, 'pending');
  const revision = outcome?.revision as string;
  assert.equal((await uploads.get(uploadId))?.state, 'pending');
  /** The disperser's deps, as a follow-up (or a look) reads revisions with them. */
  const followed = { ...deps, revisions: { ledger: writer.ledger, index: writer.index } };
  const look = () => getUpload(followed, 'steps', uploadId);
  return { ...fixture, revision, look, followed };
}

test('a look at an upload settled pending follows its revision: still pending, then committed, its staged parts deleted; a look without the revisions changes nothing', async () => {
  // Prepare
  const { deps, writer, revision, uploadId, look } = await settledPending();
  const record = await writer.ledger.get(revision);
  assert.ok(record?.segments !== undefined && record.size !== undefined && record.sha256);

  // Act: a look while the revision waits; its commit; a look without revisions; then with.
  const waiting = await look();
  await writer.ledger.commitWhole(revision, record.segments, new Date());
  await writer.ledger.markTasksDone(revision);
  const blind = await getUpload(deps, 'steps', uploadId);
  const settled = await look();
  const again = await look();

  // Assess
  assert.deepEqual([waiting.state, waiting.revision], ['pending', revision]);
  assert.equal(blind.state, 'pending', 'a look that cannot read revisions answers the record');
  assert.deepEqual(
    [settled.state, settled.revision, settled.size, settled.sha256],
    ['committed', revision, record.size, record.sha256],
  );
  assert.deepEqual(again, settled);
  assert.deepEqual(await deps.staging.listParts(uploadId), [], 'its staged parts are deleted');
});

test('a look at an upload settled pending whose revision its units failed, or the janitor timed out, ends it failed with that reason; a stale step of it is dropped', async () => {
  for (const reason of ['segment 1 can no longer reach 5 of 6 units', TIMED_OUT]) {
    // Prepare
    const { deps, queue, slices, writer, revision, uploadId, look } = await settledPending();
    await writer.ledger.fail(revision, reason, writer.clock.now());
    const placed = slices.puts.size;

    // Act: a look, then a step of it delivered as if a look had queued one.
    const ended = await look();
    await disperseUpload(deps, { uploadId, step: 1 }, 0);

    // Assess
    assert.deepEqual([ended.state, ended.revision, ended.reason], ['failed', revision, reason]);
    assert.equal(queue.messages.length, 1, 'nothing queued but the completion');
    assert.equal(slices.puts.size, placed, 'nothing written again');
    assert.equal((await deps.uploads.get(uploadId))?.state, 'failed');
  }
});

test('a look at an upload settled pending whose vault moved to another topology past the grace fences its revision and queues its dispersal again, which writes the object whole under the new topology; repeated looks and deliveries write it once', async () => {
  // Prepare: the upload pending under OLD; the vault then moves to NEW, 10 s ago.
  const { deps, uploads, queue, slices, writer, body, revision, uploadId, look } =
    await (async () => {
      const fixture = await stagedForSteps(2.5 * MiB, MiB);
      const vaults = movingVaults(fixture.writer);
      fixture.deps.vaults = fixture.writer.vaults;
      const outcome = await disperseUpload(fixture.deps, { uploadId: fixture.uploadId }, 0);
      assert.equal(outcome?.state, 'pending');
      vaults.move(fixture.writer.clock.now() - 10_000);
      // The API reads the time of one clock, as the writer does; a look `laterMs` on.
      const looks = (laterMs: number): UploadDeps => ({
        ...fixture.deps,
        clock: { ...systemClock, now: () => systemClock.now() + laterMs },
        revisions: { ledger: fixture.writer.ledger, index: fixture.writer.index },
      });
      return {
        ...fixture,
        revision: outcome?.revision as string,
        look: (laterMs = 0) => getUpload(looks(laterMs), 'steps', fixture.uploadId),
      };
    })();
  assert.equal((await writer.ledger.get(revision))?.topology, OLD_TOPOLOGY);
  const placed = slices.puts.size;

  // Act: two looks (the first queues step 1), one past the first's mark (which queues it
  // again: its send may have been lost), then every message delivered twice, in reverse.
  const first = await look();
  const second = await look();
  const queuedByTwo = queue.messages.length - 1;
  await look(REQUEUE_STALE_MS + 1000);
  const sent = queue.messages.slice(1);
  for (const message of [...sent, ...sent].reverse())
    await disperseUpload(deps, message as { uploadId: string; step?: number }, 0);
  const after = await look();

  // Assess: the old revision fenced; one new one, under NEW, each of its slices placed once.
  const old = await writer.ledger.get(revision);
  assert.deepEqual([old?.state, isSuperseded(old?.reason)], ['failed', true]);
  assert.deepEqual(
    [first.state, first.revision, first.dispersed],
    ['dispersing', revision, undefined],
  );
  assert.equal(second.state, 'dispersing');
  assert.equal(queuedByTwo, 1, 'two looks, one send');
  assert.deepEqual(
    sent.map((m) => m.step),
    [1, 1],
  );
  const ended = await uploads.get(uploadId);
  assert.equal(ended?.state, 'pending');
  assert.notEqual(ended?.revision, revision);
  assert.deepEqual([after.state, after.revision], ['pending', ended?.revision]);
  const fresh = await writer.ledger.get(ended?.revision as string);
  assert.equal(fresh?.topology, NEW_TOPOLOGY);
  assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
  const rewritten = [...slices.puts].filter(([key]) => key.includes(ended?.revision as string));
  assert.ok(rewritten.length > 0);
  assert.ok(
    rewritten.every(([, n]) => n === 1),
    'each new slice placed once',
  );
  assert.equal(slices.puts.size, placed + rewritten.length);
});

/**
 * An upload dispersed at once under topology OLD, left pending; its vault then moved to NEW,
 * 10 s ago, past the grace: its revision is one the commit fence fails.
 */
async function fencedPending() {
  const fixture = await stagedForSteps(2.5 * MiB, MiB);
  const vaults = movingVaults(fixture.writer);
  fixture.deps.vaults = fixture.writer.vaults;
  const outcome = await disperseUpload(fixture.deps, { uploadId: fixture.uploadId }, 0);
  vaults.move(fixture.writer.clock.now() - 10_000);
  return { ...fixture, revision: outcome?.revision as string };
}

test('a look at an upload settled pending whose revision was purged from the ledger settles it by the index: committed when the key names it, else failed; one fenced and purged before its delivery begins again', async () => {
  // Prepare, Act and Assess, case by case.
  // Timed out by the janitor, which purges in the same pass: the key holds nothing.
  {
    const { writer, revision, look, uploadId, deps } = await settledPending();
    await writer.ledger.fail(revision, TIMED_OUT, writer.clock.now());
    await writer.ledger.purged(revision);
    const ended = await look();
    assert.equal(ended.state, 'failed');
    assert.match(ended.reason ?? '', /is no longer in the ledger .* holds nothing/);
    assert.equal((await deps.uploads.get(uploadId))?.state, 'failed');
  }
  // Committed and indexed, then gone from the ledger: the index tells it.
  {
    const { writer, revision, look } = await settledPending();
    const record = await writer.ledger.get(revision);
    assert.ok(record?.size !== undefined && record.sha256);
    await writeNewer(writer, revision);
    await writer.ledger.purged(revision);
    const ended = await look();
    assert.deepEqual([ended.state, ended.revision], ['committed', revision]);
  }
  // Fenced by a look (which queued it again), purged before the disperser took the message.
  {
    const { deps, queue, writer, body, uploadId, revision } = await fencedPending();
    const look = () =>
      getUpload(
        { ...deps, clock: writer.clock, revisions: { ledger: writer.ledger, index: writer.index } },
        'steps',
        uploadId,
      );
    const first = await look();
    await writer.ledger.purged(revision);
    const again = await look();
    for (const message of queue.messages.slice(1))
      await disperseUpload(deps, message as { uploadId: string; step?: number }, 0);
    const ended = await deps.uploads.get(uploadId);
    assert.deepEqual([first.state, again.state], ['dispersing', 'dispersing']);
    assert.equal(queue.messages.length, 2, 'one send');
    assert.equal(ended?.state, 'pending');
    assert.notEqual(ended?.revision, revision);
    assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
  }
});

test('an upload its dispersal left pending is followed up until its revision is decided, with no look: committed, its staged parts deleted; a copy of each follow-up does nothing', async () => {
  // Prepare: the disperser's write ended pending, and queued the first follow-up.
  const { deps, queue, writer, revision, uploadId, followed } = await settledPending();
  const record = await writer.ledger.get(revision);
  assert.ok(record?.segments !== undefined);
  const queuedFirst = queue.followUps.map((f) => [f.followUp, f.delaySeconds]);

  // Act: follow-up 1 while the revision waits, and a copy of it; the commit; follow-up 2
  // delivered twice.
  const first = await followUp(followed, uploadId, 1);
  const copy = await followUp(followed, uploadId, 1);
  await writer.ledger.commitWhole(revision, record.segments, new Date());
  await writer.ledger.markTasksDone(revision);
  const second = await followUp(followed, uploadId, 2);
  const late = await followUp(followed, uploadId, 2);

  // Assess
  assert.deepEqual(queuedFirst, [[1, 30]], 'the disperser queued the first follow-up, 30 s on');
  assert.deepEqual([first?.state, copy?.state], ['pending', 'pending']);
  assert.deepEqual(
    queue.followUps.map((f) => [f.followUp, f.delaySeconds]),
    [
      [1, 30],
      [2, 30],
    ],
    'one follow-up per follow-up delivered, the copy none, and none once decided',
  );
  assert.deepEqual([second?.state, second?.revision], ['committed', revision]);
  assert.equal(late?.state, 'committed');
  assert.deepEqual(await deps.staging.listParts(uploadId), [], 'its staged parts are deleted');
  assert.equal(queue.messages.length, 1, 'no dispersal step queued');
});

test('a follow-up within the grace of a revision committed and replaced at once (its record still in the ledger) ends the upload committed', async () => {
  // Prepare: the revision commits after the disperser gave up waiting, and a newer write of the
  // key replaces it at once; its record stays GARBAGE_GRACE_MS, at least twice the follow-ups'
  // interval.
  const { writer, revision, uploadId, followed } = await settledPending();
  const record = await writer.ledger.get(revision);
  assert.ok(record?.segments !== undefined && record.size !== undefined);
  await writer.ledger.commitWhole(revision, record.segments, new Date());
  await writer.ledger.markTasksDone(revision);
  await writeNewer(writer, `${revision}~`);
  await writer.ledger.retire(revision, writer.clock.now() + GARBAGE_GRACE_MS);

  // Act
  const settled = await followUp(followed, uploadId, 1);

  // Assess
  assert.deepEqual(
    [settled?.state, settled?.revision, settled?.size],
    ['committed', revision, record.size],
  );
});

test('follow-ups come at most 30 s apart, and so within half a replaced revision grace, whatever interval is asked for', async () => {
  // Prepare: an interval of two minutes asked for, and one of 2 s.
  const sent: number[] = [];
  for (const followUpMs of [120_000, 2000]) {
    const { queue, uploadId, followed } = await settledPending();

    // Act
    await followUp({ ...followed, followUpMs }, uploadId, 1);
    sent.push(queue.followUps.at(-1)?.delaySeconds ?? 0);
  }

  // Assess
  assert.deepEqual(sent, [30, 2]);
  assert.ok(FOLLOW_UP_MS <= GARBAGE_GRACE_MS / 2);
});

test('a follow-up of an upload whose revision the janitor timed out and purged ends it failed; one whose vault moved fences it, queues its dispersal again, and the follow-ups go on as one chain on the new revision', async () => {
  // Prepare, Act and Assess, case by case.
  // Timed out and purged in one janitor pass: the key holds nothing.
  {
    const { queue, writer, revision, uploadId, followed } = await settledPending();
    await writer.ledger.fail(revision, TIMED_OUT, writer.clock.now());
    await writer.ledger.purged(revision);
    const ended = await followUp(followed, uploadId, 1);
    assert.equal(ended?.state, 'failed');
    assert.match(ended?.reason ?? '', /is no longer in the ledger .* holds nothing/);
    assert.equal(queue.followUps.length, 1, 'no follow-up after it is decided');
  }
  // Fenced: the follow-up queues step 1, and one more follow-up, which finds the dispersal
  // taken up and ends there; the new write ends pending and is followed up from the first.
  {
    const { deps, queue, writer, body, uploadId, revision } = await fencedPending();
    const followed = {
      ...deps,
      clock: writer.clock,
      revisions: { ledger: writer.ledger, index: writer.index },
    };
    const fenced = await followUp(followed, uploadId, 1);
    const steps = queue.messages.slice(1);
    for (const message of steps) await disperseUpload(deps, message, 0);
    const afterStep = await followUp(followed, uploadId, 2);
    // The new write's own first follow-up, after the old one's second took the chain on.
    await followUp(followed, uploadId, 1);
    const ended = await deps.uploads.get(uploadId);
    assert.equal(fenced?.state, 'dispersing');
    assert.deepEqual(
      steps.map((m) => m.step),
      [1],
    );
    assert.equal(afterStep?.state, 'pending', 'follow-up 2 finds the new write pending');
    assert.equal(ended?.state, 'pending');
    assert.notEqual(ended?.revision, revision);
    assert.ok((await dispersedBytes(writer, ended?.revision as string)).equals(body));
    assert.deepEqual(
      queue.followUps.map((f) => f.followUp),
      [1, 2, 1, 3],
      'the new write queued its first; the old follow-up 2 found it pending and queued 3, after which the first is a stale copy: one chain',
    );
    assert.equal(ended?.followUp?.n, 3);
  }
});

test('a dispersal cut off between claiming its first follow-up and sending it: a copy of its delivery sends nothing, a redelivery once the claim is stale sends it, once', async () => {
  // Prepare: the first send of a follow-up fails, as a crash there would leave it.
  const fixture = await stagedForSteps(2.5 * MiB, MiB);
  const { deps, clock, queue, uploads, uploadId } = fixture;
  const follow = queue.follow.bind(queue);
  let failures = 1;
  queue.follow = async (...args) => {
    if (failures-- > 0) throw new Error('cut off');
    await follow(...args);
  };

  // Act: the delivery, cut off; a copy at once; the redelivery after the queue's visibility
  // timeout, twice.
  await assert.rejects(disperseUpload(deps, { uploadId }, 0), /cut off/);
  const left = await uploads.get(uploadId);
  await disperseUpload(deps, { uploadId }, 0);
  const afterCopy = queue.followUps.length;
  clock.advance(5_400_000);
  await disperseUpload(deps, { uploadId }, 0);
  await disperseUpload(deps, { uploadId }, 0);

  // Assess
  assert.deepEqual([left?.state, left?.followUp?.n], ['pending', 1]);
  assert.equal(afterCopy, 0, 'a copy finds the claim fresh');
  assert.deepEqual(
    queue.followUps.map((f) => f.followUp),
    [1],
  );
  assert.equal((await uploads.get(uploadId))?.followUp?.n, 1);
});

test('two copies of a follow-up delivered at once send one next follow-up; a look that fails is logged and the next one looks again; follow-ups stop past the longest a write may stay pending', async () => {
  // Prepare
  const { clock, queue, writer, revision, uploadId, ...fixture } = await settledPending();
  const log = new MemoryLogger();
  const followed = { ...fixture.followed, log };
  const failing = {
    ...followed,
    revisions: {
      ...followed.revisions,
      ledger: Object.assign(Object.create(writer.ledger), {
        get: async () => {
          throw new Error('throttled');
        },
      }),
    },
  };

  // Act: copies of 1 at once; 2 whose look fails; 3 past the revision's 12 hours.
  const copies = await Promise.all([1, 1].map((n) => followUp(followed, uploadId, n)));
  const sentByCopies = queue.followUps.map((f) => f.followUp);
  const failed = await followUp(failing, uploadId, 2);
  clock.advance(revisionTime(revision) + MAX_PENDING_AGE_MS + 31 * 60_000 - clock.now());
  const late = await followUp(followed, uploadId, 3);

  // Assess
  assert.deepEqual(
    copies.map((c) => c?.state),
    ['pending', 'pending'],
  );
  assert.deepEqual(sentByCopies, [1, 2], 'one follow-up 2 for two copies of 1');
  assert.equal(failed?.state, 'pending');
  assert.ok(
    log.lines.some((l) => l.message === 'upload follow-up failed; the next one looks again'),
  );
  assert.equal(late?.state, 'pending');
  assert.ok(
    log.lines.some(
      (l) => l.message === 'upload follow-ups given up: its revision is still undecided',
    ),
  );
  assert.deepEqual(
    queue.followUps.map((f) => f.followUp),
    [1, 2, 3],
    'none after the one that gave up',
  );
});
