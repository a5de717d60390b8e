/**
 * The RebuildJobStore contract: one job per vault, replaced only when done (or on restart), and
 * a lease that lets one invocation at a time work on it.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { RebuildJob, RebuildJobStore } from '../../shared/repair/index.ts';
import { newRebuildJob } from '../../shared/repair/rebuild-job.ts';
import { type PortFactory, portTest } from './contract.ts';

const T0 = Date.parse('2026-12-01T00:00:00Z');

export function jobOf(vault: string): RebuildJob {
  return newRebuildJob(vault, { restart: false, stepSegments: 0 }, new Date(T0));
}

/** Registers the contract's tests; `factory` builds an empty store. */
export function rebuildJobStoreContract(name: string, factory: PortFactory<RebuildJobStore>): void {
  const it = portTest(factory);

  describe(`RebuildJobStore contract: ${name}`, () => {
    it('a vault without a job has none', async (jobs) => {
      assert.equal(await jobs.get('photos'), undefined);
    });

    it('start stores the job when none is running, and returns it', async (jobs) => {
      const job = jobOf('photos');
      assert.deepEqual(await jobs.start(job, false), job);
      assert.deepEqual(await jobs.get('photos'), job);
    });

    it('start while a job runs returns the running one and keeps it', async (jobs) => {
      // Prepare
      const running = jobOf('photos');
      await jobs.start(running, false);

      // Act
      const answer = await jobs.start(jobOf('photos'), false);

      // Assess
      assert.deepEqual(answer, running);
      assert.equal((await jobs.get('photos'))?.id, running.id);
    });

    it('of concurrent starts exactly one job is in force, and every caller is told which', async (jobs) => {
      const candidates = [1, 2, 3].map(() => jobOf('photos'));
      const answers = await Promise.all(candidates.map((j) => jobs.start(j, false)));
      const inForce = (await jobs.get('photos'))?.id;
      assert.ok(candidates.some((j) => j.id === inForce));
      assert.deepEqual(
        answers.map((a) => a.id),
        [inForce, inForce, inForce],
      );
    });

    it('start with restart replaces a running job, lease and all', async (jobs) => {
      // Prepare
      const old = jobOf('photos');
      await jobs.start(old, false);
      await jobs.lease('photos', old.id, 'a', T0 + 60_000, T0);

      // Act
      const fresh = jobOf('photos');
      const answer = await jobs.start(fresh, true);

      // Assess
      assert.deepEqual(answer, fresh);
      assert.equal(await jobs.save({ ...old, invocations: 9 }, 'a'), false, 'the old job is gone');
      assert.equal(await jobs.lease('photos', old.id, 'b', T0 + 60_000, T0), false);
      assert.equal(await jobs.lease('photos', fresh.id, 'b', T0 + 60_000, T0), true);
    });

    it('a done job is replaced by the next start', async (jobs) => {
      // Prepare
      const first = jobOf('photos');
      await jobs.start(first, false);
      await jobs.lease('photos', first.id, 'a', T0 + 60_000, T0);
      await jobs.save({ ...first, state: 'done', phase: 'done' }, 'a', true);

      // Act
      const next = jobOf('photos');
      const answer = await jobs.start(next, false);

      // Assess
      assert.deepEqual(answer, next);
      assert.deepEqual(await jobs.get('photos'), next);
    });

    it('the lease goes to one holder at a time, until it expires', async (jobs) => {
      // Prepare
      const job = jobOf('photos');
      await jobs.start(job, false);
      const until = T0 + 1_000;

      // Act
      const a = await jobs.lease('photos', job.id, 'a', until, T0);
      const bMeanwhile = await jobs.lease('photos', job.id, 'b', T0 + 5_000, T0 + 500);
      const aAgain = await jobs.lease('photos', job.id, 'a', T0 + 5_000, T0 + 500);
      const bAtExpiry = await jobs.lease('photos', job.id, 'b', T0 + 5_000, until);
      const bAfter = await jobs.lease('photos', job.id, 'b', T0 + 5_000, until + 1);

      // Assess
      assert.deepEqual(
        [a, bMeanwhile, aAgain, bAtExpiry, bAfter],
        [true, false, false, false, true],
      );
    });

    it('of concurrent leases exactly one is granted', async (jobs) => {
      const job = jobOf('photos');
      await jobs.start(job, false);
      const granted = await Promise.all(
        ['a', 'b', 'c', 'd'].map((h) => jobs.lease('photos', job.id, h, T0 + 1_000, T0)),
      );
      assert.equal(granted.filter((g) => g).length, 1);
    });

    it('there is no lease on another job, an unknown vault, or a done job', async (jobs) => {
      // Prepare
      const job = jobOf('photos');
      await jobs.start(job, false);
      const done = jobOf('music');
      await jobs.start(done, false);
      await jobs.lease('music', done.id, 'a', T0 + 1_000, T0);
      await jobs.save({ ...done, state: 'done' }, 'a', true);

      // Act / Assess
      assert.equal(await jobs.lease('photos', 'another-id', 'a', T0 + 1_000, T0), false);
      assert.equal(await jobs.lease('nowhere', job.id, 'a', T0 + 1_000, T0), false);
      assert.equal(await jobs.lease('music', done.id, 'b', T0 + 1_000, T0), false);
    });

    it('save stores progress for the holder only', async (jobs) => {
      // Prepare
      const job = jobOf('photos');
      await jobs.start(job, false);
      await jobs.lease('photos', job.id, 'a', T0 + 1_000, T0);
      const progress: RebuildJob = {
        ...job,
        phase: 'scan',
        segmentsScanned: 12,
        scanCursor: { key: 'k', revision: 'r', segment: 3 },
      };

      // Act
      const byHolder = await jobs.save(progress, 'a');
      const byOther = await jobs.save({ ...progress, segmentsScanned: 99 }, 'b');

      // Assess
      assert.deepEqual([byHolder, byOther], [true, false]);
      assert.deepEqual(await jobs.get('photos'), progress);
    });

    it('save without a lease, or of a job not started, is refused', async (jobs) => {
      const job = jobOf('photos');
      assert.equal(await jobs.save(job, 'a'), false);
      await jobs.start(job, false);
      assert.equal(await jobs.save(job, 'a'), false);
      assert.deepEqual(await jobs.get('photos'), job);
    });

    it('release ends the lease: the holder cannot save again, and another may lease at once', async (jobs) => {
      // Prepare
      const job = jobOf('photos');
      await jobs.start(job, false);
      await jobs.lease('photos', job.id, 'a', T0 + 60_000, T0);

      // Act
      const released = await jobs.save({ ...job, invocations: 1 }, 'a', true);
      const lateSave = await jobs.save({ ...job, invocations: 2 }, 'a');
      const next = await jobs.lease('photos', job.id, 'b', T0 + 60_000, T0 + 1);

      // Assess
      assert.deepEqual([released, lateSave, next], [true, false, true]);
      assert.equal((await jobs.get('photos'))?.invocations, 1);
    });

    it('an expired holder may still save until another holder takes the lease', async (jobs) => {
      const job = jobOf('photos');
      await jobs.start(job, false);
      await jobs.lease('photos', job.id, 'a', T0 + 1_000, T0);
      assert.equal(await jobs.save({ ...job, invocations: 1 }, 'a'), true);
      await jobs.lease('photos', job.id, 'b', T0 + 9_000, T0 + 2_000);
      assert.equal(await jobs.save({ ...job, invocations: 2 }, 'a'), false);
      assert.equal((await jobs.get('photos'))?.invocations, 1);
    });

    it('vaults have separate jobs', async (jobs) => {
      const photos = jobOf('photos');
      const music = jobOf('music');
      await jobs.start(photos, false);
      assert.deepEqual(await jobs.start(music, false), music);
      assert.equal((await jobs.get('photos'))?.id, photos.id);
    });
  });
}
