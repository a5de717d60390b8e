/**
 * Staged uploads on the local cloud: parts into staging, complete, the disperser streams them
 * through the writer, and the object reads back exactly with ranged GETs; one the disperser
 * left pending is settled by a look at it, or by its follow-up.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import { startDsn } from '../helpers/dsn-cli.ts';
import {
  cloudClients,
  EPHEMERAL_PORTS,
  eventually,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';

const MiB = 1024 * 1024;

describe('staged uploads', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const json = async <T>(res: Response) => (await res.json()) as T;

  before(async () => {
    dir = await tempDir('dsn-uploads');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('a 20 MiB object goes up in parts, is dispersed, and reads back exactly by ranges', async () => {
    // Prepare
    const body = randomBytes(20 * MiB + 12345);
    const created = await api('/vaults/default/uploads', {
      method: 'POST',
      body: JSON.stringify({ key: 'big/20mib.bin' }),
    });
    const { uploadId } = await json<{ uploadId: string }>(created);
    assert.equal(created.status, 201);

    // Act: parts in reverse order, to show order comes from part numbers.
    const partSize = 4 * MiB;
    const count = Math.ceil(body.length / partSize);
    for (let p = count; p >= 1; p--) {
      const res = await api(`/vaults/default/uploads/${uploadId}/parts/${p}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(body.subarray((p - 1) * partSize, p * partSize)),
      });
      assert.equal(res.status, 200);
    }
    const complete = await api(`/vaults/default/uploads/${uploadId}/complete`, { method: 'POST' });
    assert.equal(complete.status, 202);
    const done = await eventually(
      async () => {
        const u = await json<{ state: string; revision?: string; sha256?: string }>(
          await api(`/vaults/default/uploads/${uploadId}`),
        );
        return u.state === 'dispersing' ? undefined : u;
      },
      'the dispersal to finish',
      120_000,
    );

    // Assess
    assert.equal(done.state, 'committed', JSON.stringify(done));
    assert.equal(done.sha256, createHash('sha256').update(body).digest('hex'));
    const parts: Buffer[] = [];
    for (let at = 0; at < body.length; at += partSize) {
      const res = await api('/vaults/default/objects/big/20mib.bin', {
        headers: { range: `bytes=${at}-${Math.min(at + partSize, body.length) - 1}` },
      });
      assert.equal(res.status, 206);
      parts.push(Buffer.from(await res.arrayBuffer()));
    }
    assert.ok(Buffer.concat(parts).equals(body));
    const redirect = await api('/vaults/default/objects/big/20mib.bin', { redirect: 'manual' });
    assert.equal(redirect.status, 307, 'above 4 MiB, the reader function streams it');
    const whole = await api('/vaults/default/objects/big/20mib.bin');
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(body), 'the streamed body is exact');
  });

  test('bad part numbers, gaps, and parts after completion are refused with the rule', async () => {
    const { uploadId } = await json<{ uploadId: string }>(
      await api('/vaults/default/uploads', {
        method: 'POST',
        body: JSON.stringify({ key: 'gappy' }),
      }),
    );
    const part = (n: number | string) =>
      api(`/vaults/default/uploads/${uploadId}/parts/${n}`, { method: 'PUT', body: 'x' });
    const zero = await part(0);
    assert.equal(zero.status, 400);
    assert.match(
      (await json<{ error: { message: string } }>(zero)).error.message,
      /^part: must be an integer 1..10000/,
    );
    assert.equal((await part(1)).status, 200);
    assert.equal((await part(3)).status, 200);
    const gap = await api(`/vaults/default/uploads/${uploadId}/complete`, { method: 'POST' });
    assert.equal(gap.status, 400);
    assert.match(
      (await json<{ error: { message: string } }>(gap)).error.message,
      /part 2 is missing/,
    );
    assert.equal((await part(2)).status, 200);
    assert.equal(
      (await api(`/vaults/default/uploads/${uploadId}/complete`, { method: 'POST' })).status,
      202,
    );
    const late = await part(4);
    assert.equal(late.status, 409);
    const unknown = await api('/vaults/default/uploads/u-nope', { method: 'GET' });
    assert.equal(unknown.status, 404);
    const noKey = await api('/vaults/default/uploads', { method: 'POST', body: '{}' });
    assert.equal(noKey.status, 400);
  });

  /** The keys staged for `uploadId` in the staging bucket (its parts, or its multipart object). */
  const stagedOf = async (uploadId: string) => {
    const Bucket = cloud.stack.resources.get('StagingBucket')?.ref as string;
    const out = await cloudClients(cloud).s3.send(
      new ListObjectsV2Command({ Bucket, Prefix: `uploads/${uploadId}/` }),
    );
    return (out.Contents ?? []).map((o) => o.Key);
  };

  test('an aborted upload ends failed, its parts deleted; again answers the same; a completed one answers 409', async () => {
    // Prepare: one upload with two parts staged, one completed.
    const open = async (key: string) =>
      (
        await json<{ uploadId: string }>(
          await api('/vaults/default/uploads', { method: 'POST', body: JSON.stringify({ key }) }),
        )
      ).uploadId;
    const part = (id: string, n: number) =>
      api(`/vaults/default/uploads/${id}/parts/${n}`, { method: 'PUT', body: randomBytes(1000) });
    const aborting = await open('aborted/a.bin');
    const completing = await open('aborted/b.bin');
    for (const n of [1, 2]) assert.equal((await part(aborting, n)).status, 200);
    assert.equal((await part(completing, 1)).status, 200);
    assert.equal(
      (await api(`/vaults/default/uploads/${completing}/complete`, { method: 'POST' })).status,
      202,
    );
    const stagedBefore = await stagedOf(aborting);

    // Act
    const first = await api(`/vaults/default/uploads/${aborting}`, { method: 'DELETE' });
    const again = await api(`/vaults/default/uploads/${aborting}`, { method: 'DELETE' });
    const late = await api(`/vaults/default/uploads/${completing}`, { method: 'DELETE' });
    const partAfter = await part(aborting, 3);

    // Assess
    assert.equal(stagedBefore.length, 2);
    for (const res of [first, again]) {
      assert.equal(res.status, 200);
      const body = await json<{ uploadId: string; state: string; reason: string }>(res);
      assert.deepEqual(
        [body.uploadId, body.state, body.reason],
        [aborting, 'failed', 'aborted by its writer'],
      );
    }
    assert.deepEqual(await stagedOf(aborting), [], 'its staged parts are deleted');
    const refused = await json<{ error: { code: string; message: string } }>(late);
    assert.equal(late.status, 409);
    assert.equal(refused.error.code, 'UploadState');
    assert.match(refused.error.message, /only an open upload can be aborted/);
    assert.equal(partAfter.status, 409);
    const state = await json<{ state: string }>(await api(`/vaults/default/uploads/${aborting}`));
    assert.equal(state.state, 'failed');
  });

  test("an aborted presigned upload's multipart upload is gone: its part URLs are refused", async () => {
    // Prepare
    const created = await json<{ uploadId: string; urls: Array<{ part: number; url: string }> }>(
      await api('/vaults/default/uploads', {
        method: 'POST',
        body: JSON.stringify({ key: 'aborted/presigned.bin', presigned: true, size: 1000 }),
      }),
    );
    const url = created.urls[0]?.url as string;
    assert.equal((await fetch(url, { method: 'PUT', body: randomBytes(1000) })).status, 200);

    // Act
    const aborted = await api(`/vaults/default/uploads/${created.uploadId}`, {
      method: 'DELETE',
    });
    const after = await fetch(url, { method: 'PUT', body: randomBytes(1000) });

    // Assess
    assert.equal(aborted.status, 200);
    assert.equal(after.status, 404);
    assert.match(await after.text(), /NoSuchUpload/);
  });

  test('dsn get interrupted leaves neither its file nor the partial one behind (exit 130)', async () => {
    // Prepare: an object whose units all answer 2 s late, so the get is surely mid-download.
    const body = randomBytes(3 * MiB);
    const put = await api('/vaults/default/objects/held/get.bin', { method: 'PUT', body });
    assert.equal(put.status, 201, await put.text());
    const { units } = await json<{ units: number[] }>(await api('/vaults/default'));
    for (const unit of units) {
      const res = await api(`/admin/units/${unit}/fault`, {
        method: 'PUT',
        body: JSON.stringify({ mode: 'slow', delayMs: 2000 }),
      });
      assert.equal(res.status, 200, await res.text());
    }
    const file = join(dir.path, 'got.bin');
    const { child, stderr, exited } = startDsn(['get', 'default/held/get.bin', file], {
      DSN_ENDPOINT: cloud.endpoints.api,
    });
    try {
      await eventually(async () => existsSync(`${file}.partial`) || undefined, 'the partial file');

      // Act
      child.kill('SIGINT');
      const code = await exited;

      // Assess
      assert.equal(code, 130, stderr());
      assert.equal(existsSync(`${file}.partial`), false, 'the partial file is gone');
      assert.equal(existsSync(file), false, 'no file under its name');
    } finally {
      child.kill('SIGKILL');
      for (const unit of units) await api(`/admin/units/${unit}/fault`, { method: 'DELETE' });
    }
  });

  test('dsn put interrupted while staging aborts its upload and says so (exit 130)', async () => {
    // Prepare: stdin gives two parts, then holds the next one back, so the put is mid-upload.
    const { child, stderr, exited } = startDsn(
      ['put', '-', 'default/aborted/stdin.bin', '--via', 'server'],
      { DSN_ENDPOINT: cloud.endpoints.api },
    );
    child.stdin.write(randomBytes(8 * MiB + 1));
    const Bucket = cloud.stack.resources.get('StagingBucket')?.ref as string;
    const s3 = cloudClients(cloud).s3;
    try {
      const uploadId = await eventually(async () => {
        const out = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'uploads/' }));
        const keys = (out.Contents ?? []).map((o) => o.Key as string);
        const ids = new Set(keys.map((k) => k.split('/')[1] as string));
        for (const id of ids) {
          const u = await json<{ key: string; state: string }>(
            await api(`/vaults/default/uploads/${id}`),
          );
          if (u.key === 'aborted/stdin.bin' && u.state === 'open') return id;
        }
        return undefined;
      }, 'the put to stage its first parts');

      // Act
      child.kill('SIGINT');
      const code = await exited;

      // Assess
      assert.equal(code, 130, stderr());
      assert.match(
        stderr(),
        /interrupted: the upload of default\/aborted\/stdin\.bin is aborted; nothing of it was written/,
      );
      const u = await json<{ state: string; reason?: string }>(
        await api(`/vaults/default/uploads/${uploadId}`),
      );
      assert.deepEqual([u.state, u.reason], ['failed', 'aborted by its writer']);
      assert.deepEqual(await stagedOf(uploadId), []);
      const head = await api('/vaults/default/objects/aborted/stdin.bin', { method: 'HEAD' });
      assert.equal(head.status, 404);
    } finally {
      child.kill('SIGKILL');
    }
  });

  /** Every unit of vault default answers `ms` late until the returned function is called. */
  const slowUnits = async (ms: number) => {
    const { units } = await json<{ units: number[] }>(await api('/vaults/default'));
    for (const unit of units) {
      const res = await api(`/admin/units/${unit}/fault`, {
        method: 'PUT',
        body: JSON.stringify({ mode: 'slow', delayMs: ms }),
      });
      assert.equal(res.status, 200, await res.text());
    }
    return async () => {
      for (const unit of units) await api(`/admin/units/${unit}/fault`, { method: 'DELETE' });
    };
  };

  test('dsn put of a small file interrupted while its PUT is under way says it may commit all the same, and it does (exit 130)', async () => {
    // Prepare: units 2 s late, so the API's write is surely under way when the signal comes.
    const file = join(dir.path, 'small-put.bin');
    const body = randomBytes(MiB);
    await writeFile(file, body);
    const heal = await slowUnits(2000);
    const Table = cloud.stack.resources.get('RevisionsTable')?.ref as string;
    const clients = cloudClients(cloud);
    const { child, stderr, exited } = startDsn(['put', file, 'default/held/put.bin'], {
      DSN_ENDPOINT: cloud.endpoints.api,
    });
    try {
      await eventually(async () => {
        const out = await clients.documents.send(new ScanCommand({ TableName: Table }));
        return (out.Items ?? []).some((i) => i.key === 'held/put.bin') || undefined;
      }, 'the API to open the write');

      // Act
      child.kill('SIGINT');
      const code = await exited;

      // Assess: it says what it left, and the write commits without it.
      assert.equal(code, 130, stderr());
      assert.match(
        stderr(),
        /interrupted: the PUT of default\/held\/put\.bin was under way: if the API had it whole it commits all the same/,
      );
      await heal();
      const got = await eventually(async () => {
        const res = await api('/vaults/default/objects/held/put.bin');
        return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
      }, 'the write to commit');
      assert.ok(got.equals(body));
    } finally {
      child.kill('SIGKILL');
      clients.destroy();
      await heal();
    }
  });

  test('dsn put interrupted after completing its staged upload says the upload goes on and commits, and it does (exit 130)', async () => {
    // Prepare: two parts staged at once, then units 2 s late, so the dispersal is slow.
    const file = join(dir.path, 'staged-put.bin');
    const body = randomBytes(5 * MiB);
    await writeFile(file, body);
    const heal = await slowUnits(2000);
    const Bucket = cloud.stack.resources.get('StagingBucket')?.ref as string;
    const clients = cloudClients(cloud);
    const { child, stderr, exited } = startDsn(
      ['put', file, 'default/held/staged.bin', '--via', 'server'],
      { DSN_ENDPOINT: cloud.endpoints.api },
    );
    try {
      const uploadId = await eventually(async () => {
        const out = await clients.s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'uploads/' }));
        for (const id of new Set((out.Contents ?? []).map((o) => String(o.Key).split('/')[1]))) {
          const u = await json<{ key: string; state: string }>(
            await api(`/vaults/default/uploads/${id}`),
          );
          if (u.key === 'held/staged.bin' && u.state !== 'open') return id as string;
        }
        return undefined;
      }, 'the put to complete its upload');

      // Act
      child.kill('SIGINT');
      const code = await exited;

      // Assess
      assert.equal(code, 130, stderr());
      assert.match(
        stderr(),
        new RegExp(
          `interrupted: the upload ${uploadId} of default/held/staged\\.bin was completed, or its completion was under way: then it is dispersed and commits without this process`,
        ),
      );
      await heal();
      const got = await eventually(async () => {
        const res = await api('/vaults/default/objects/held/staged.bin');
        return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
      }, 'the upload to commit');
      assert.ok(got.equals(body));
    } finally {
      child.kill('SIGKILL');
      clients.destroy();
      await heal();
    }
  });
});

describe('a staged upload settled pending (the disperser waits for no commit)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);

  before(async () => {
    dir = await tempDir('dsn-uploads-pending');
    cloud = await startLocalCloud({
      serviceDir: PROJECT_ROOT,
      dataDir: dir.path,
      stage: 'test',
      ports: EPHEMERAL_PORTS,
      // The disperser's write waits a millisecond: its upload ends pending, before its commit.
      // Its follow-ups come 10 s apart: a look (the first test) comes long before the first.
      functionEnvironment: { DSN_COMMIT_WAIT_SECONDS: '0.001', DSN_UPLOAD_FOLLOW_UP_SECONDS: '10' },
    });
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  /**
   * Stages `body` in two parts under `key` and completes it; the upload's record (read from the
   * control table) and how many of its parts are staged.
   */
  async function stagedUpload(key: string, body: Buffer) {
    const created = await api('/vaults/default/uploads', {
      method: 'POST',
      body: JSON.stringify({ key }),
    });
    const { uploadId } = (await created.json()) as { uploadId: string };
    const half = body.length / 2;
    for (const p of [1, 2]) {
      const res = await api(`/vaults/default/uploads/${uploadId}/parts/${p}`, {
        method: 'PUT',
        body: new Uint8Array(body.subarray((p - 1) * half, p * half)),
      });
      assert.equal(res.status, 200);
    }
    const complete = await api(`/vaults/default/uploads/${uploadId}/complete`, { method: 'POST' });
    assert.equal(complete.status, 202);
    const clients = cloudClients(cloud);
    const table = cloud.stack.resources.get('ControlTable')?.ref as string;
    const Bucket = cloud.stack.resources.get('StagingBucket')?.ref as string;
    return {
      uploadId,
      clients,
      staged: async () =>
        (
          await clients.s3.send(
            new ListObjectsV2Command({ Bucket, Prefix: `uploads/${uploadId}/` }),
          )
        ).KeyCount ?? 0,
      record: async () =>
        (
          await clients.documents.send(
            new GetCommand({ TableName: table, Key: { id: `upload/${uploadId}` } }),
          )
        ).Item,
    };
  }

  test('a look at it follows its revision: committed, its staged parts deleted, and it reads back exact', async () => {
    // Prepare: two parts staged, completed; the record as the disperser left it.
    const body = randomBytes(6 * MiB);
    const { uploadId, clients, staged, record } = await stagedUpload('big/pending.bin', body);
    try {
      const left = await eventually(async () => {
        const item = await record();
        return item?.state === 'dispersing' ? undefined : item;
      }, 'the disperser to end its write');
      const stagedBefore = await staged();

      // Act: look at the upload until it says what became of its revision.
      const done = await eventually(async () => {
        const u = (await (await api(`/vaults/default/uploads/${uploadId}`)).json()) as {
          state: string;
          revision?: string;
          sha256?: string;
          size?: number;
        };
        return u.state === 'pending' ? undefined : u;
      }, 'the upload to follow its revision');

      // Assess
      assert.equal(left?.state, 'pending', JSON.stringify(left));
      assert.equal(stagedBefore, 2, 'its parts were staged while it said pending');
      assert.deepEqual(
        [done.state, done.revision, done.size, done.sha256],
        ['committed', left?.revision, body.length, createHash('sha256').update(body).digest('hex')],
      );
      assert.equal(await staged(), 0, 'its staged parts are deleted');
      const back = await api('/vaults/default/objects/big/pending.bin');
      assert.ok(Buffer.from(await back.arrayBuffer()).equals(body));
    } finally {
      clients.destroy();
    }
  });

  test('with no look, its follow-up settles it: committed, its staged parts deleted', async () => {
    // Prepare
    const body = randomBytes(4 * MiB);
    const { clients, staged, record } = await stagedUpload('big/followed.bin', body);
    try {
      // Act: nothing but reading the record, as the disperser and its follow-ups leave it.
      const left = await eventually(async () => {
        const item = await record();
        return item?.state === 'dispersing' || item?.followUp === undefined ? undefined : item;
      }, 'the disperser to end its write and claim its first follow-up');
      const stagedBefore = await staged();
      const done = await eventually(
        async () => {
          const item = await record();
          return item?.state === 'pending' ? undefined : item;
        },
        'a follow-up to settle the upload',
        30_000,
      );

      // Assess
      assert.deepEqual([left?.state, left?.followUp?.n], ['pending', 1], JSON.stringify(left));
      assert.equal(stagedBefore, 2, 'its parts were staged while it said pending');
      assert.deepEqual(
        [done.state, done.revision, done.size, done.sha256],
        ['committed', left?.revision, body.length, createHash('sha256').update(body).digest('hex')],
      );
      assert.equal(await staged(), 0, 'its staged parts are deleted');
    } finally {
      clients.destroy();
    }
  });
});
