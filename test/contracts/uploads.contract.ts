/**
 * The contracts of staged uploads: the UploadStore's records move between states by
 * conditional transitions; the StagingStore keeps each upload's parts in part order.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { StagingStore, Upload, UploadStore } from '../../shared/store/index.ts';
import { type PortFactory, portTest } from './contract.ts';

export function uploadOf(uploadId: string): Upload {
  return {
    uploadId,
    vault: 'photos',
    key: `k/${uploadId}`,
    state: 'open',
    createdAt: '2026-12-01T00:00:00.000Z',
    expiresAt: '2026-12-08T00:00:00.000Z',
    caller: 'ip:127.0.0.1',
  };
}

/** Registers the contract's tests; `factory` builds an empty store. */
export function uploadStoreContract(name: string, factory: PortFactory<UploadStore>): void {
  const it = portTest(factory);

  describe(`UploadStore contract: ${name}`, () => {
    it('a created upload is read back as created; an unknown one is undefined', async (uploads) => {
      await uploads.create(uploadOf('u1'));
      assert.deepEqual(await uploads.get('u1'), uploadOf('u1'));
      assert.equal(await uploads.get('u2'), undefined);
    });

    it('an upload id is taken once: a second create is refused and keeps the first', async (uploads) => {
      await uploads.create(uploadOf('u1'));
      await assert.rejects(uploads.create({ ...uploadOf('u1'), key: 'other' }), {
        name: 'ConditionalCheckFailedException',
      });
      assert.equal((await uploads.get('u1'))?.key, 'k/u1');
    });

    it('transition applies its fields from the states listed, and says whether it did', async (uploads) => {
      // Prepare
      await uploads.create(uploadOf('u1'));

      // Act
      const fromWrong = await uploads.transition('u1', ['dispersing'], { state: 'committed' });
      const fromOpen = await uploads.transition('u1', ['open', 'pending'], {
        state: 'dispersing',
        parts: 3,
        size: 12,
        reason: undefined,
      });
      const unknown = await uploads.transition('u2', ['open'], { state: 'dispersing' });

      // Assess
      assert.deepEqual([fromWrong, fromOpen, unknown], [false, true, false]);
      assert.deepEqual(await uploads.get('u1'), {
        ...uploadOf('u1'),
        state: 'dispersing',
        parts: 3,
        size: 12,
      });
      assert.equal(await uploads.get('u2'), undefined, 'a transition creates nothing');
    });

    it('transition keeps the fields it is not given', async (uploads) => {
      await uploads.create(uploadOf('u1'));
      await uploads.transition('u1', ['open'], { state: 'dispersing', parts: 2 });
      await uploads.transition('u1', ['dispersing'], {
        state: 'failed',
        failedUnits: [3, 1],
        parts: undefined,
      });
      assert.deepEqual(await uploads.get('u1'), {
        ...uploadOf('u1'),
        state: 'failed',
        parts: 2,
        failedUnits: [3, 1],
      });
    });

    it('admit counts open uploads per caller up to the quota; released and expired ones free a place', async (uploads) => {
      // Prepare
      const now = Date.parse('2026-12-01T00:00:00Z');
      const day = 24 * 60 * 60 * 1000;

      // Act and assess: a quota of 2 for one caller; another caller is counted apart.
      assert.equal(await uploads.admit('ip:a', 'u1', now + day, 2, now), true);
      assert.equal(await uploads.admit('ip:a', 'u1', now + day, 2, now), true, 'again: same');
      assert.equal(await uploads.admit('ip:a', 'u2', now + 2 * day, 2, now), true);
      assert.equal(await uploads.admit('ip:a', 'u3', now + day, 2, now), false);
      assert.equal(await uploads.admit('ip:b', 'u4', now + day, 2, now), true);
      await uploads.release('ip:a', 'u2');
      await uploads.release('ip:a', 'u2');
      await uploads.release('ip:nobody', 'u9');
      assert.equal(await uploads.admit('ip:a', 'u3', now + day, 2, now), true);
      assert.equal(await uploads.admit('ip:a', 'u5', now + day, 2, now), false);
      // A day on, u1 and u3 have expired: two places again.
      assert.equal(await uploads.admit('ip:a', 'u5', now + 3 * day, 2, now + day), true);
      assert.equal(await uploads.admit('ip:a', 'u6', now + 3 * day, 2, now + day), true);
      assert.equal(await uploads.admit('ip:a', 'u7', now + 3 * day, 2, now + day), false);
    });

    it('concurrent admits never count more than the quota', async (uploads) => {
      const now = Date.parse('2026-12-01T00:00:00Z');
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => uploads.admit('ip:c', `c${i}`, now + 1000, 3, now)),
      );
      assert.equal(results.filter(Boolean).length, 3);
    });

    it('of concurrent transitions out of one state exactly one applies', async (uploads) => {
      await uploads.create(uploadOf('u1'));
      const applied = await Promise.all(
        [1, 2, 3].map((parts) =>
          uploads.transition('u1', ['open'], { state: 'dispersing', parts }),
        ),
      );
      assert.equal(applied.filter((a) => a).length, 1);
      assert.equal((await uploads.get('u1'))?.parts, applied.indexOf(true) + 1);
    });

    it("advance records a dispersing upload's progress one step at a time, from the step before only", async (uploads) => {
      // Prepare
      await uploads.create(uploadOf('u1'));
      await uploads.create(uploadOf('u2'));
      await uploads.transition('u1', ['open'], { state: 'dispersing' });
      const at = (step: number) => ({
        step,
        revision: 'r1',
        segments: 2 * step,
        offset: 2 * step * 1024,
        sha256State: `state-${step}`,
      });

      // Act
      const results = [
        await uploads.advance('u1', at(2)),
        await uploads.advance('u1', at(1)),
        await uploads.advance('u1', at(1)),
        await uploads.advance('u1', at(2)),
        await uploads.advance('u2', at(1)),
        await uploads.advance('u3', at(1)),
      ];

      // Assess: a skipped step, a step taken twice, an open upload and an unknown one refused.
      assert.deepEqual(results, [false, true, false, true, false, false]);
      assert.deepEqual((await uploads.get('u1'))?.progress, at(2));
      assert.equal((await uploads.get('u2'))?.progress, undefined);
    });

    it('of concurrent advances from one step exactly one records', async (uploads) => {
      await uploads.create(uploadOf('u1'));
      await uploads.transition('u1', ['open'], { state: 'dispersing' });
      const applied = await Promise.all(
        ['a', 'b', 'c'].map((revision) =>
          uploads.advance('u1', { step: 1, revision, segments: 1, offset: 8, sha256State: 's' }),
        ),
      );
      assert.equal(applied.filter((a) => a).length, 1);
      assert.equal((await uploads.get('u1'))?.progress?.revision, 'abc'[applied.indexOf(true)]);
    });

    it('markRequeued marks a pending upload once per step until the mark is stale, and never one in another state', async (uploads) => {
      // Prepare
      await uploads.create(uploadOf('u1'));
      await uploads.create(uploadOf('u2'));
      await uploads.transition('u1', ['open'], { state: 'pending', revision: 'r1' });

      // Act
      const results = [
        await uploads.markRequeued('u1', 1, 1000, 0),
        await uploads.markRequeued('u1', 1, 2000, 500),
        await uploads.markRequeued('u1', 2, 2000, 500),
        await uploads.markRequeued('u1', 2, 400_000, 100_000),
        await uploads.markRequeued('u2', 1, 1000, 0),
      ];
      const concurrent = await Promise.all(
        [1, 2, 3].map(() => uploads.markRequeued('u1', 3, 500_000, 400_000)),
      );

      // Assess
      assert.deepEqual(results, [true, false, true, true, false]);
      assert.equal(concurrent.filter((c) => c).length, 1, 'of concurrent marks one applies');
      const marked = await uploads.get('u1');
      assert.deepEqual([marked?.state, marked?.requeued], ['pending', { step: 3, at: 500_000 }]);
      assert.equal((await uploads.get('u2'))?.requeued, undefined);
    });

    it('claimFollowUp claims each follow-up of a pending upload once, again only once stale, never an earlier one, and nothing on one in another state', async (uploads) => {
      // Prepare
      await uploads.create(uploadOf('u1'));
      await uploads.create(uploadOf('u2'));
      await uploads.transition('u1', ['open'], { state: 'pending', revision: 'r1' });

      // Act
      const results = [
        await uploads.claimFollowUp('u1', 1, 1000, 0),
        await uploads.claimFollowUp('u1', 1, 2000, 500),
        await uploads.claimFollowUp('u1', 1, 3000, 1500),
        await uploads.claimFollowUp('u1', 3, 4000, 2000),
        await uploads.claimFollowUp('u1', 2, 5000, 4500),
        await uploads.claimFollowUp('u2', 1, 1000, 0),
      ];
      const concurrent = await Promise.all(
        [1, 2, 3].map(() => uploads.claimFollowUp('u1', 4, 6000, 5000)),
      );
      const claimed = (await uploads.get('u1'))?.followUp;
      await uploads.transition('u1', ['pending'], {
        state: 'dispersing',
        followUp: { n: 0, at: 0 },
      });
      const whileDispersing = await uploads.claimFollowUp('u1', 1, 7000, 0);
      await uploads.transition('u1', ['dispersing'], { state: 'pending' });
      const again = await uploads.claimFollowUp('u1', 1, 8000, 7000);

      // Assess
      assert.deepEqual(results, [true, false, true, true, false, false]);
      assert.equal(concurrent.filter((c) => c).length, 1, 'of concurrent claims one applies');
      assert.deepEqual(claimed, { n: 4, at: 6000 });
      assert.equal((await uploads.get('u2'))?.followUp, undefined, 'an open upload is not claimed');
      assert.equal(whileDispersing, false);
      assert.equal(again, true, 'claimed from the first again once it disperses anew');
      assert.deepEqual((await uploads.get('u1'))?.followUp, { n: 1, at: 8000 });
    });

    it('claimRevision names the revision of a dispersing upload only while it still names the one given', async (uploads) => {
      // Prepare
      await uploads.create(uploadOf('u1'));
      await uploads.create(uploadOf('u2'));
      await uploads.transition('u1', ['open'], { state: 'dispersing' });

      // Act
      const results = [
        await uploads.claimRevision('u1', 'r1', 'r0'),
        await uploads.claimRevision('u1', 'r1', undefined),
        await uploads.claimRevision('u1', 'r2', undefined),
        await uploads.claimRevision('u1', 'r2', 'r1'),
        await uploads.claimRevision('u2', 'r1', undefined),
        await uploads.claimRevision('u9', 'r1', undefined),
      ];

      // Assess: the wrong one before, a second first claim, an open upload, an unknown one refused.
      assert.deepEqual(results, [false, true, false, true, false, false]);
      assert.equal((await uploads.get('u1'))?.revision, 'r2');
      assert.equal((await uploads.get('u2'))?.revision, undefined);
      assert.equal(await uploads.get('u9'), undefined, 'no upload made by a claim');
    });

    it('of concurrent first claims exactly one names its revision', async (uploads) => {
      await uploads.create(uploadOf('u1'));
      await uploads.transition('u1', ['open'], { state: 'dispersing' });
      const applied = await Promise.all(
        ['a', 'b', 'c'].map((revision) => uploads.claimRevision('u1', revision, undefined)),
      );
      assert.equal(applied.filter((a) => a).length, 1);
      assert.equal((await uploads.get('u1'))?.revision, 'abc'[applied.indexOf(true)]);
    });

    it('markStepQueued marks the progress of that step only; other steps and unknown uploads are left', async (uploads) => {
      await uploads.create(uploadOf('u1'));
      await uploads.transition('u1', ['open'], { state: 'dispersing' });
      const progress = { step: 1, revision: 'r', segments: 1, offset: 8, sha256State: 's' };
      await uploads.advance('u1', progress);
      await uploads.markStepQueued('u1', 2);
      await uploads.markStepQueued('u9', 1);
      assert.deepEqual((await uploads.get('u1'))?.progress, progress);
      await uploads.markStepQueued('u1', 1);
      assert.deepEqual((await uploads.get('u1'))?.progress, { ...progress, queued: true });
      await uploads.create(uploadOf('u2'));
      await uploads.markStepQueued('u2', 1);
      assert.equal((await uploads.get('u2'))?.progress, undefined);
    });
  });
}

const bytes = (text: string) => new Uint8Array(Buffer.from(text));

async function read(staging: StagingStore, uploadId: string, part: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of staging.readPart(uploadId, part)) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

/** Registers the contract's tests; `factory` builds an empty staging area. */
export function stagingStoreContract(name: string, factory: PortFactory<StagingStore>): void {
  const it = portTest(factory);

  describe(`StagingStore contract: ${name}`, () => {
    it('parts are listed in part order with their sizes, and read back', async (staging) => {
      // Prepare
      for (const part of [10, 2, 1]) await staging.putPart('u1', part, bytes(`part ${part}`));

      // Act
      const parts = await staging.listParts('u1');

      // Assess
      assert.deepEqual(parts, [
        { part: 1, size: 6 },
        { part: 2, size: 6 },
        { part: 10, size: 7 },
      ]);
      assert.equal(await read(staging, 'u1', 10), 'part 10');
    });

    it('a part put again is replaced', async (staging) => {
      await staging.putPart('u1', 1, bytes('first'));
      await staging.putPart('u1', 1, bytes('again!'));
      assert.deepEqual(await staging.listParts('u1'), [{ part: 1, size: 6 }]);
      assert.equal(await read(staging, 'u1', 1), 'again!');
    });

    it('an empty part is listed with size 0 and reads as no bytes', async (staging) => {
      await staging.putPart('u1', 1, new Uint8Array(0));
      assert.deepEqual(await staging.listParts('u1'), [{ part: 1, size: 0 }]);
      assert.equal(await read(staging, 'u1', 1), '');
    });

    it('uploads are separate, even when one id begins another', async (staging) => {
      await staging.putPart('u1', 1, bytes('one'));
      await staging.putPart('u10', 1, bytes('ten'));
      assert.deepEqual(await staging.listParts('u1'), [{ part: 1, size: 3 }]);
      assert.deepEqual(await staging.listParts('u2'), []);
      assert.equal(await read(staging, 'u10', 1), 'ten');
    });

    it('a part is read from a byte on: the rest of it', async (staging) => {
      await staging.putPart('u1', 1, bytes('0123456789'));
      const chunks: Uint8Array[] = [];
      for await (const chunk of staging.readPart('u1', 1, 4)) chunks.push(chunk);
      assert.equal(Buffer.concat(chunks).toString(), '456789');
    });

    it('reading a part never put fails', async (staging) => {
      await assert.rejects(read(staging, 'u1', 1), { name: 'NoSuchKey' });
    });

    it('deleteUpload removes every part of the upload and nothing else; an unknown one is fine', async (staging) => {
      // Prepare
      for (const part of [1, 2, 3]) await staging.putPart('u1', part, bytes('x'));
      await staging.putPart('u10', 1, bytes('y'));

      // Act
      await staging.deleteUpload('u1');
      await staging.deleteUpload('u1');
      await staging.deleteUpload('never');

      // Assess
      assert.deepEqual(await staging.listParts('u1'), []);
      assert.deepEqual(await staging.listParts('u10'), [{ part: 1, size: 1 }]);
    });
  });
}
