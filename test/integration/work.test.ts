/**
 * Work items on the local cloud, with the real api and worker functions: each op's result and
 * output checked byte for byte (gunzip, zstd, SHA-256, concatenation) on real objects, one of
 * them several segments long; the bad-input 400s; explain and cancel.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
  createVault,
  eventually,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';

const SEGMENT = 64 * 1024;

interface Item {
  id: string;
  seq: number;
  op: string;
  args: Record<string, unknown>;
  after: string[];
  state: string;
  attempts: number;
  token: number;
  result?: Record<string, unknown>;
  error?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('work items on the local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const put = async (key: string, body: Uint8Array) => {
    const res = await api(`/vaults/jobs/objects/${key}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(body),
    });
    assert.equal(res.status, 201, await res.text());
  };
  const get = async (key: string) => {
    const res = await api(`/vaults/jobs/objects/${key}`);
    assert.equal(res.status, 200, `GET ${key}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const add = async (body: unknown) => {
    const res = await api('/vaults/jobs/work', { method: 'POST', body: JSON.stringify(body) });
    return {
      status: res.status,
      body: (await res.json()) as Item & { error: { code: string; message: string } },
    };
  };
  const settled = (id: string) =>
    eventually(
      async () => {
        const res = await api(`/vaults/jobs/work/${id}`);
        const item = (await res.json()) as Item;
        return ['done', 'failed'].includes(item.state) ? item : undefined;
      },
      `work item ${id} to finish`,
      60_000,
    );
  const run = async (op: string, args: Record<string, unknown>) => {
    const added = await add({ op, args });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const item = await settled(added.body.id);
    assert.equal(item.state, 'done', JSON.stringify(item));
    return item;
  };

  // A multi-segment object that compresses, and small text files.
  const big = Buffer.concat([randomBytes(3 * SEGMENT), Buffer.alloc(2 * SEGMENT + 123, 'a')]);
  const logs = {
    'logs/1.txt': Buffer.from('boot ok\nERROR disk full\nretry\n'),
    'logs/2.txt': Buffer.from('error: again\nfine'),
  };

  before(async () => {
    dir = await tempDir('dsn-work');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    await createVault(api, { name: 'jobs', writeThreshold: 5, segmentSize: SEGMENT });
    await put('data/big.bin', big);
    for (const [key, body] of Object.entries(logs)) await put(key, body);
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('an added item answers 201 queued with its id and seq, and ends done', async () => {
    const added = await add({ op: 'digest', args: { prefix: 'logs/' } });
    assert.equal(added.status, 201);
    assert.match(added.body.id, /^w\d{12}$/);
    assert.equal(added.body.state, 'queued');
    assert.equal(typeof added.body.seq, 'number');
    const item = await settled(added.body.id);
    assert.equal(item.state, 'done');
    assert.ok(item.token >= 1 && item.attempts === 1, JSON.stringify(item));
    assert.ok(item.startedAt && item.finishedAt);
  });

  for (const codec of ['gzip', 'zstd'] as const) {
    test(`compress and decompress with ${codec} on a multi-segment object, byte for byte`, async () => {
      // Act
      const packed = await run('compress', {
        key: 'data/big.bin',
        output: `data/big.${codec}`,
        codec,
      });
      const z = await get(`data/big.${codec}`);
      const unpacked = await run('decompress', {
        key: `data/big.${codec}`,
        output: `data/big.${codec}.out`,
        codec,
      });

      // Assess
      const plain = codec === 'gzip' ? zlib.gunzipSync(z) : zlib.zstdDecompressSync(z);
      assert.ok(plain.equals(big), `${codec} output decompresses to the input`);
      assert.deepEqual(packed.result, {
        output: `data/big.${codec}`,
        size: z.length,
        inputSize: big.length,
      });
      assert.ok((await get(`data/big.${codec}.out`)).equals(big));
      assert.deepEqual(unpacked.result, {
        output: `data/big.${codec}.out`,
        size: big.length,
        inputSize: z.length,
      });
    });
  }

  test("digest gives every object's SHA-256 and size, and writes them as JSON lines", async () => {
    const item = await run('digest', { prefix: 'logs/', output: 'digests/logs.jsonl' });
    const expected = Object.entries(logs).map(([key, body]) => ({
      key,
      size: body.length,
      sha256: sha(body),
    }));
    assert.deepEqual(item.result, { count: 2, objects: expected });
    assert.equal(
      (await get('digests/logs.jsonl')).toString(),
      expected.map((e) => `${JSON.stringify(e)}\n`).join(''),
    );
    const whole = await run('digest', { prefix: 'data/big.bin' });
    assert.deepEqual(whole.result, {
      count: 1,
      objects: [{ key: 'data/big.bin', size: big.length, sha256: sha(big) }],
    });
  });

  test('grep finds matching lines with their key and line number', async () => {
    const item = await run('grep', { prefix: 'logs/', pattern: '^error', flags: 'i' });
    assert.deepEqual(item.result, {
      matches: 2,
      lines: [
        { key: 'logs/1.txt', line: 2, text: 'ERROR disk full' },
        { key: 'logs/2.txt', line: 1, text: 'error: again' },
      ],
    });
  });

  test('concat streams the objects under a prefix, in key order, into one', async () => {
    await put('parts/b', big.subarray(0, SEGMENT + 5));
    await put('parts/a', Buffer.from('head\n'));
    const item = await run('concat', { prefix: 'parts/', output: 'joined/all.bin' });
    const expected = Buffer.concat([Buffer.from('head\n'), big.subarray(0, SEGMENT + 5)]);
    assert.ok((await get('joined/all.bin')).equals(expected));
    assert.deepEqual(item.result, { output: 'joined/all.bin', size: expected.length, parts: 2 });
  });

  test('a failing op ends failed with its error after 3 attempts; a queued item can be cancelled (204), a finished one cannot (409); items after a failed or cancelled one end cancelled with the reason', async () => {
    // Prepare: the log is not gzip. While it fails and backs off, what runs after it waits.
    const broken = await add({
      op: 'decompress',
      args: { key: 'logs/1.txt', output: 'x', codec: 'gzip' },
    });
    const blocked = await add({ op: 'digest', args: { prefix: 'logs/' }, after: [broken.body.id] });
    const afterFailed = await add({
      op: 'digest',
      args: { prefix: 'logs/' },
      after: [broken.body.id],
    });
    const afterCancelled = await add({
      op: 'digest',
      args: { prefix: 'logs/' },
      after: [blocked.body.id],
    });

    // Act
    const cancel = await api(`/vaults/jobs/work/${blocked.body.id}`, { method: 'DELETE' });
    const explain = await api(`/vaults/jobs/work/${blocked.body.id}?explain`);
    const failed = await settled(broken.body.id);
    const again = await api(`/vaults/jobs/work/${failed.id}`, { method: 'DELETE' });
    const cancelled = (id: string) =>
      eventually(
        async () => {
          const item = (await (await api(`/vaults/jobs/work/${id}`)).json()) as Item & {
            reason?: string;
          };
          return item.state === 'cancelled' ? item : undefined;
        },
        `work item ${id} to be cancelled`,
        60_000,
      );

    // Assess
    assert.equal(cancel.status, 204);
    const explained = (await explain.json()) as { units: Array<{ present: boolean }> };
    assert.equal(explained.units.length, 6);
    assert.ok(
      explained.units.every((u) => !u.present),
      `a cancel deletes the slices: ${JSON.stringify(explained)}`,
    );
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attempts, 3);
    assert.match(failed.error ?? '', /header|incorrect/i);
    assert.equal(again.status, 409);
    assert.equal(
      (await cancelled(afterFailed.body.id)).reason,
      `runs after ${broken.body.id}, which ended failed`,
    );
    assert.equal(
      (await cancelled(afterCancelled.body.id)).reason,
      `runs after ${blocked.body.id}, which ended cancelled`,
    );
  });

  test('the list is in seq order with a cursor, and filters by state', async () => {
    const res = await api('/vaults/jobs/work?limit=2');
    assert.equal(res.status, 200);
    const page = (await res.json()) as { items: Item[]; cursor: string | null };
    assert.equal(page.items.length, 2);
    assert.ok(page.cursor);
    const next = (await (
      await api(`/vaults/jobs/work?limit=1000&cursor=${page.cursor}`)
    ).json()) as { items: Item[] };
    const seqs = [...page.items, ...next.items].map((i) => i.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    const failed = (await (await api('/vaults/jobs/work?state=failed')).json()) as {
      items: Item[];
    };
    assert.ok(failed.items.length >= 1 && failed.items.every((i) => i.state === 'failed'));
  });

  const bad: Array<[string, string, string, RegExp]> = [
    ['an unknown op', 'POST', JSON.stringify({ op: 'nope', args: {} }), /^op: must be one of/],
    [
      'a missing arg',
      'POST',
      JSON.stringify({ op: 'compress', args: { key: 'a', codec: 'gzip' } }),
      /^args\.output: /,
    ],
    [
      'a mistyped arg',
      'POST',
      JSON.stringify({ op: 'concat', args: { prefix: 1, output: 'o' } }),
      /^args\.prefix: /,
    ],
    [
      'a pattern that does not compile',
      'POST',
      JSON.stringify({ op: 'grep', args: { prefix: '', pattern: '[' } }),
      /^args\.pattern: does not compile/,
    ],
    [
      'an after naming an unknown item',
      'POST',
      JSON.stringify({ op: 'digest', args: { prefix: '' }, after: ['w000009999999'] }),
      /^after\[0\]: names no work item/,
    ],
    [
      'a limit out of range',
      'GET',
      '?limit=1001',
      /^limit: must be an integer 1\.\.1000, in plain decimal digits/,
    ],
  ];
  for (const [what, method, body, rule] of bad) {
    test(`${what} is a 400 that names the rule`, async () => {
      const res =
        method === 'POST'
          ? await api('/vaults/jobs/work', { method, body })
          : await api(`/vaults/jobs/work${body}`);
      assert.equal(res.status, 400);
      const answer = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(answer.error.code, 'InvalidParameter');
      assert.match(answer.error.message, rule);
    });
  }

  test('an unknown vault is a 404, and so is an unknown item', async () => {
    const res = await api('/vaults/nope-vault/work', {
      method: 'POST',
      body: JSON.stringify({ op: 'digest', args: { prefix: '' } }),
    });
    assert.equal(res.status, 404);
    assert.equal((await api('/vaults/jobs/work/w000000999999')).status, 404);
  });
});
