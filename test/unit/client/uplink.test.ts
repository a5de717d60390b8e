import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { openWithToken } from '../../../client/dispersal-state.ts';
import { type ApiCalls, DsnApiError, type JsonCalls } from '../../../client/dsn-client.ts';
import { cutInto, SegmentEncoder } from '../../../client/segment-encoder.ts';
import {
  cancelDispersal,
  ResumeHoldError,
  ResumeMismatchError,
  uplinkPut,
} from '../../../client/uplink.ts';
import {
  builtSliceS3Crc32,
  codecFor,
  createSha256,
  encodeStream,
  sliceNamesOf,
} from '../../../shared/codec/index.ts';

const of = {
  vault: 'clips',
  objectId: 'abcdefghijabcdefghij12',
  revision: '00mx5a16j55feac52852a844aa',
  width: 6,
  segmentSize: 64 * 1024,
};

async function* inChunks(body: Uint8Array, size: number) {
  for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
}

test("the client's encoder, reusing its buffers, makes the server writer's slices byte for byte", async () => {
  const codec = codecFor(4, 2);
  for (const length of [0, 1, 1000, of.segmentSize, 3 * of.segmentSize + 77]) {
    // Prepare
    const body = randomBytes(length);
    const expected: Uint8Array[][] = [];
    const stream = encodeStream(inChunks(body, 7000), {
      codec,
      segmentSize: of.segmentSize,
      name: sliceNamesOf(of),
    });
    let summary: { size: number; sha256: string; segments: number } | undefined;
    for (;;) {
      const step = await stream.next();
      if (step.done) {
        summary = step.value;
        break;
      }
      expected.push(step.value.slices.map((s) => Buffer.from(s)));
    }

    // Act: two slots only, each given back once compared, so every buffer is used again.
    const encoder = new SegmentEncoder(of, codec, 2, await createSha256());
    const got: Uint8Array[][] = [];
    for await (const n of cutInto(inChunks(body, 7000), encoder.segment)) {
      const { slices, buffers } = await encoder.encode(n);
      got.push(slices.map((s) => Buffer.from(s)));
      encoder.release(buffers);
    }

    // Assess
    assert.equal(got.length, expected.length, `segments of a ${length}-byte object`);
    for (const [i, slices] of got.entries())
      for (const [p, s] of slices.entries())
        assert.ok(Buffer.from(s).equals(expected[i]?.[p] as Uint8Array), `${length}: ${i}/${p}`);
    assert.deepEqual(encoder.summary(), summary);
  }
});

test('the encoder holds no more than its slots: the next segment waits for a release', async () => {
  const encoder = new SegmentEncoder(of, codecFor(4, 2), 1, await createSha256());
  const first = await encoder.encode(100);
  let second = false;
  const next = encoder.encode(100).then(() => {
    second = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(second, false, 'no free buffers until the first segment is released');
  encoder.release(first.buffers);
  await next;
  assert.equal(second, true);
});

/**
 * The API as a dispersal sees it, in memory: it opens `of`, hands out a URL per slice, and
 * completes with the summary it is sent. Records the slices each announcement called missing.
 */
function fakeApi(
  resumable: { state: string; segmentsDone: Array<{ segment: number; crc32?: string[] }> } = {
    state: 'pending',
    segmentsDone: [],
  },
): ApiCalls &
  JsonCalls & {
    missing: string[];
    calls: string[];
    announced: number[];
    completed: Array<{ segments: number; size: number; sha256: string }>;
  } {
  const missing: string[] = [];
  const calls: string[] = [];
  const announced: number[] = [];
  const completed: Array<{ segments: number; size: number; sha256: string }> = [];
  return {
    missing,
    calls,
    announced,
    completed,
    async json<T>(method: string, path: string) {
      calls.push(`${method} ${path.slice(path.lastIndexOf('/'))}`);
      if (method === 'GET') return { ...of, key: 'k', readThreshold: 4, ...resumable } as T;
      return { revision: of.revision, state: 'failed', reason: 'cancelled by its writer' } as T;
    },
    async postJson<T>(path: string, body: unknown) {
      calls.push(path.slice(path.lastIndexOf('/')));
      const answer = (status: number, b: unknown) => ({ status, body: b as T });
      if (path.endsWith('/dispersals')) return answer(201, { ...of, key: 'k', readThreshold: 4 });
      const req = body as {
        segments?: Array<{ segment: number; slices: Array<{ pillar: number; missing?: string }> }>;
        sha256?: string;
      };
      if (path.endsWith('/urls'))
        return answer(200, {
          urls: (req.segments ?? []).flatMap((s) =>
            s.slices.map((sl) => ({
              ...sl,
              segment: s.segment,
              url: `https://u/${s.segment}/${sl.pillar}`,
            })),
          ),
        });
      if (path.endsWith('/segments')) {
        for (const s of req.segments ?? []) {
          announced.push(s.segment);
          for (const sl of s.slices) if (sl.missing) missing.push(`${s.segment}/${sl.pillar}`);
        }
        return answer(202, {});
      }
      completed.push(body as { segments: number; size: number; sha256: string });
      return answer(201, { revision: of.revision, sha256: req.sha256 });
    },
  };
}

test("the uplink's progress counts placed slices only, and reaches the object's size when all are", async () => {
  const body = randomBytes(3 * of.segmentSize + 77);
  const refused = new Response('<Error><Code>AccessDenied</Code><Message>no</Message></Error>', {
    status: 403,
  });
  for (const down of [undefined, 2]) {
    // Prepare: pillar `down`'s bucket refuses every slice.
    const api = fakeApi();
    const progress: number[] = [];

    // Act
    await uplinkPut(api, inChunks(body, 5000), 'clips', 'k', {
      putSlice: async (url) =>
        url.endsWith(`/${down}`) ? refused.clone() : new Response(null, { status: 200 }),
      onProgress: (bytes) => progress.push(bytes),
    });

    // Assess
    const expected = down === undefined ? body.length : Math.round((body.length * 5) / 6);
    assert.equal(progress.at(-1), expected, `last progress with pillar ${down} down`);
    assert.ok(progress.every((p, i) => i === 0 || p >= (progress[i - 1] as number)));
    assert.equal(api.missing.length, down === undefined ? 0 : 4);
  }
});

test('an aborted dispersal stops placing, announces nothing more and is never completed', async () => {
  // Prepare: the third slice PUT aborts the dispersal (three segments of six slices each).
  const body = randomBytes(3 * of.segmentSize);
  const api = fakeApi();
  const control = new AbortController();
  let puts = 0;
  const cutOff: boolean[] = [];

  // Act
  const run = uplinkPut(api, inChunks(body, 5000), 'clips', 'k', {
    batch: 1,
    signal: control.signal,
    putSlice: async (_url, _body, _headers, signal) => {
      if (++puts === 3) control.abort();
      cutOff.push(signal?.aborted ?? false);
      return new Response(null, { status: 200 });
    },
  });

  // Assess
  await assert.rejects(run, { name: 'AbortError' });
  assert.ok(puts < 18, `stopped placing (${puts} PUTs of 18)`);
  assert.ok(cutOff.includes(true), 'the PUTs are handed the signal');
  assert.ok(!api.calls.includes('/segments'), 'no segment announced');
  assert.ok(!api.calls.includes('/complete'), 'never completed');
  assert.equal(api.calls.at(-1), `DELETE /${of.revision}`, 'cancelled');
});

test('a dispersal asked to keep its revision (a resume), aborted or failed, stops as another does, and is not cancelled', async () => {
  for (const [keepPending, stop] of [
    [true, 'abort'],
    [false, 'abort'],
    [true, 'source'],
    [false, 'source'],
  ] as const) {
    // Prepare: the third slice PUT aborts the dispersal, or its source fails after a segment.
    const body = randomBytes(3 * of.segmentSize);
    const api = fakeApi();
    const control = new AbortController();
    let puts = 0;
    async function* failing() {
      yield body.subarray(0, of.segmentSize);
      throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    }

    // Act
    const run = uplinkPut(api, stop === 'abort' ? inChunks(body, 5000) : failing(), 'clips', 'k', {
      batch: 1,
      signal: control.signal,
      keepPending,
      putSlice: async () => {
        if (++puts === 3 && stop === 'abort') control.abort();
        return new Response(null, { status: 200 });
      },
    });

    // Assess
    await assert.rejects(run, stop === 'abort' ? { name: 'AbortError' } : { code: 'EIO' });
    assert.ok(!api.calls.includes('/complete'), 'never completed');
    assert.equal(
      api.calls.includes(`DELETE /${of.revision}`),
      !keepPending,
      `${stop}: ${keepPending ? 'left pending' : 'cancelled'}`,
    );
  }
});

test("an abort during a busy API call's back-off ends the dispersal without calling again", async () => {
  // Prepare: the first URL request meets a busy gateway (503, no domain code), and the
  // dispersal is aborted while it waits to ask again.
  const api = fakeApi();
  const control = new AbortController();
  let asked = 0;
  const busyOnce: ApiCalls & JsonCalls = {
    json: api.json,
    postJson: async <T>(path: string, body: unknown) => {
      if (path.endsWith('/urls') && ++asked === 1) {
        setTimeout(() => control.abort(), 10);
        throw new DsnApiError(503, '', 'Service Unavailable');
      }
      return api.postJson<T>(path, body);
    },
  };

  // Act
  const run = uplinkPut(busyOnce, inChunks(randomBytes(1000), 1000), 'clips', 'k', {
    signal: control.signal,
    putSlice: async () => new Response(null, { status: 200 }),
  });

  // Assess
  await assert.rejects(run, { name: 'AbortError' });
  assert.equal(asked, 1, 'no URL request after the abort');
  assert.deepEqual(
    api.calls,
    ['/dispersals', `DELETE /${of.revision}`],
    'only the cancel after it',
  );
});

test('a source that fails mid-way cancels the dispersal, and its own error is what the call rejects with', async () => {
  // Prepare: a source that gives one segment's bytes, then fails as a vanished file does.
  const api = fakeApi();
  async function* failing() {
    yield randomBytes(of.segmentSize);
    throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
  }

  // Act
  const run = uplinkPut(api, failing(), 'clips', 'k', {
    putSlice: async () => new Response(null, { status: 200 }),
  });

  // Assess
  await assert.rejects(run, { code: 'EIO' });
  assert.ok(!api.calls.includes('/complete'), 'never completed');
  assert.equal(api.calls.at(-1), `DELETE /${of.revision}`, 'cancelled');
});

test('cancelDispersal says cancelled, or committed when the API answers that it had (409 DispersalState)', async () => {
  // Prepare: the API's two answers to the DELETE, and a third it does not map.
  const answering = (err?: Error): JsonCalls => ({
    json: async <T>() => {
      if (err) throw err;
      return { state: 'failed' } as T;
    },
  });
  const committed = new DsnApiError(409, 'DispersalState', 'had committed before the cancel');
  const missing = new DsnApiError(404, 'RevisionNotFound', 'no such revision');

  // Act, Assess
  assert.equal(await cancelDispersal(answering(), 'clips', of.revision), 'cancelled');
  assert.equal(await cancelDispersal(answering(committed), 'clips', of.revision), 'committed');
  await assert.rejects(cancelDispersal(answering(missing), 'clips', of.revision), missing);
});

/** The CRC-32 of each slice of each segment of `body`, as a dispersal announces them. */
async function announcedCrcs(body: Uint8Array): Promise<string[][]> {
  const crcs: string[][] = [];
  const stream = encodeStream(inChunks(body, 7000), {
    codec: codecFor(4, 2),
    segmentSize: of.segmentSize,
    name: sliceNamesOf(of),
  });
  for (let step = await stream.next(); !step.done; step = await stream.next())
    crcs.push(step.value.slices.map((s) => builtSliceS3Crc32(s)));
  return crcs;
}

test('a resumed dispersal places and announces only the segments not done, and completes with the whole object', async () => {
  // Prepare: four segments, of which 0 and 2 were done before the client stopped.
  const body = randomBytes(4 * of.segmentSize - 5);
  const crcs = await announcedCrcs(body);
  const api = fakeApi({
    state: 'pending',
    segmentsDone: [0, 2].map((segment) => ({ segment, crc32: crcs[segment] as string[] })),
  });
  const placed: string[] = [];
  const progress: number[] = [];

  // Act
  const done = await uplinkPut(api, inChunks(body, 5000), 'clips', 'k', {
    resume: of.revision,
    batch: 1,
    putSlice: async (url) => {
      placed.push(url.slice('https://u/'.length));
      return new Response(null, { status: 200 });
    },
    onProgress: (bytes) => progress.push(bytes),
  });

  // Assess
  assert.deepEqual(
    [...new Set(placed.map((p) => p.split('/')[0]))].sort(),
    ['1', '3'],
    'only segments 1 and 3 are placed',
  );
  assert.equal(placed.length, 12);
  assert.deepEqual(api.announced.sort(), [1, 3]);
  assert.ok(!api.calls.includes('/dispersals'), 'nothing opened');
  assert.deepEqual(api.completed, [
    { segments: 4, size: body.length, sha256: createHash('sha256').update(body).digest('hex') },
  ]);
  assert.deepEqual([done.revision, done.skipped, done.state], [of.revision, 2, 'committed']);
  assert.equal(progress.at(-1), body.length);
});

test('only a pending dispersal of the same key is resumed', async () => {
  const put = (api: ReturnType<typeof fakeApi>, key: string) =>
    uplinkPut(api, inChunks(randomBytes(10), 10), 'clips', key, {
      resume: of.revision,
      putSlice: async () => new Response(null, { status: 200 }),
    });
  const failed = fakeApi({ state: 'failed', segmentsDone: [] });
  await assert.rejects(put(failed, 'k'), {
    status: 409,
    code: 'DispersalState',
    message: `dispersal ${of.revision} is failed; only a pending one can be resumed`,
  });
  await assert.rejects(put(fakeApi(), 'other'), {
    status: 400,
    code: 'InvalidParameter',
    message: `resume: dispersal ${of.revision} writes k, not other`,
  });
  assert.deepEqual(failed.calls, [`GET /${of.revision}`], 'nothing placed, nothing cancelled');
});

test('a resume from other bytes than those placed fails, places and announces nothing, and leaves the dispersal pending', async () => {
  // Prepare: segment 0 was done from other bytes; segment 1, done without checksums (not a
  // client's), would be placed again.
  const placedFrom = await announcedCrcs(randomBytes(2 * of.segmentSize));
  const api = fakeApi({
    state: 'pending',
    segmentsDone: [{ segment: 0, crc32: placedFrom[0] as string[] }, { segment: 1 }],
  });
  let puts = 0;

  // Act
  const run = uplinkPut(api, inChunks(randomBytes(2 * of.segmentSize), 5000), 'clips', 'k', {
    resume: of.revision,
    putSlice: async () => {
      puts++;
      return new Response(null, { status: 200 });
    },
  });

  // Assess
  await assert.rejects(run, (err: Error) => {
    assert.ok(err instanceof ResumeMismatchError);
    assert.equal(err.segment, 0);
    assert.match(err.message, /placed from other bytes than this source's/);
    return true;
  });
  assert.equal(puts, 0);
  assert.deepEqual(api.calls, [`GET /${of.revision}`], 'nothing announced, nothing cancelled');
});

test('a resume checks every done segment before it places any undone one, read at offsets or streamed: other bytes fail with nothing placed', async () => {
  // Prepare: segments 0 and 1 not done, 2 done from other bytes than this source's 2.
  const body = randomBytes(3 * of.segmentSize);
  const other = Buffer.from(body);
  other[2 * of.segmentSize + 7] = (other[2 * of.segmentSize + 7] as number) ^ 0xff;
  const placedFrom = await announcedCrcs(other);
  const api = fakeApi({
    state: 'pending',
    segmentsDone: [{ segment: 2, crc32: placedFrom[2] as string[] }],
  });
  const reads: number[] = [];
  const readAt = async (offset: number, into: Uint8Array) => {
    reads.push(offset);
    const bytes = body.subarray(offset, offset + into.length);
    into.set(bytes);
    return bytes.length;
  };
  let puts = 0;
  const putSlice = async () => {
    puts++;
    return new Response(null, { status: 200 });
  };

  // Act
  const checked = uplinkPut(api, inChunks(body, 5000), 'clips', 'k', {
    resume: of.revision,
    readAt,
    putSlice,
  });
  const streamed = uplinkPut(
    fakeApi({
      state: 'pending',
      segmentsDone: [{ segment: 2, crc32: placedFrom[2] as string[] }],
    }),
    inChunks(body, 5000),
    'clips',
    'k',
    { resume: of.revision, putSlice },
  );

  // Assess: with readAt, segment 2 is read alone; streamed, segments 0 and 1 are held until
  // 2 is checked. Either way nothing is placed.
  await assert.rejects(
    checked,
    (err: Error) => err instanceof ResumeMismatchError && err.segment === 2,
  );
  assert.deepEqual(reads, [2 * of.segmentSize]);
  assert.deepEqual(api.calls, [`GET /${of.revision}`], 'nothing announced, nothing cancelled');
  await assert.rejects(
    streamed,
    (err: Error) => err instanceof ResumeMismatchError && err.segment === 2,
  );
  assert.equal(puts, 0, 'nothing placed');
});

test('a streamed resume holds the undone segments before its last done one until that is checked, then places them: the object whole, its digest over the stream in order', async () => {
  // Prepare: five segments, 1 and 3 done.
  const body = randomBytes(5 * of.segmentSize - 3);
  const crcs = await announcedCrcs(body);
  const api = fakeApi({
    state: 'pending',
    segmentsDone: [1, 3].map((segment) => ({ segment, crc32: crcs[segment] as string[] })),
  });
  const placed: string[] = [];

  // Act
  const done = await uplinkPut(api, inChunks(body, 5000), 'clips', 'k', {
    resume: of.revision,
    batch: 1,
    putSlice: async (url, bytes) => {
      placed.push(url.slice('https://u/'.length));
      const [segment, pillar] = url.slice('https://u/'.length).split('/').map(Number);
      assert.equal(
        builtSliceS3Crc32(bytes),
        crcs[segment as number]?.[pillar as number],
        `segment ${segment} pillar ${pillar} encoded from its own bytes`,
      );
      return new Response(null, { status: 200 });
    },
  });

  // Assess
  assert.deepEqual([...new Set(placed.map((p) => p.split('/')[0]))].sort(), ['0', '2', '4']);
  assert.deepEqual(api.announced.sort(), [0, 2, 4]);
  assert.deepEqual(api.completed, [
    { segments: 5, size: body.length, sha256: createHash('sha256').update(body).digest('hex') },
  ]);
  assert.deepEqual([done.skipped, done.state], [2, 'committed']);
});

test('a streamed resume that would hold more than it may, or whose stream ends before its last done segment, fails with nothing placed and the dispersal left pending', async () => {
  // Prepare: four segments, 3 done; 0-2 (three segments) would be held.
  const body = randomBytes(4 * of.segmentSize);
  const crcs = await announcedCrcs(body);
  const pending = () =>
    fakeApi({ state: 'pending', segmentsDone: [{ segment: 3, crc32: crcs[3] as string[] }] });
  let puts = 0;
  const putSlice = async () => {
    puts++;
    return new Response(null, { status: 200 });
  };
  const tooMuch = pending();
  const short = pending();

  // Act
  const held = await uplinkPut(tooMuch, inChunks(body, 5000), 'clips', 'k', {
    resume: of.revision,
    resumeHoldBytes: 2 * of.segmentSize,
    putSlice,
  }).catch((err: unknown) => err);
  const cut = await uplinkPut(
    short,
    inChunks(body.subarray(0, 3 * of.segmentSize), 5000),
    'clips',
    'k',
    { resume: of.revision, putSlice },
  ).catch((err: unknown) => err);

  // Assess
  assert.ok(held instanceof ResumeHoldError, String(held));
  assert.match(held.message, /more than \d+ bytes not done before its last done segment/);
  assert.ok(cut instanceof ResumeMismatchError, String(cut));
  assert.equal(cut.segment, 3);
  assert.equal(puts, 0, 'nothing placed');
  for (const api of [tooMuch, short])
    assert.deepEqual(api.calls, [`GET /${of.revision}`], 'nothing announced, nothing cancelled');
});

test('a resume whose done segments read back the same through readAt goes on as before', async () => {
  const body = randomBytes(3 * of.segmentSize - 11);
  const crcs = await announcedCrcs(body);
  const api = fakeApi({
    state: 'pending',
    segmentsDone: [0, 2].map((segment) => ({ segment, crc32: crcs[segment] as string[] })),
  });
  const done = await uplinkPut(api, inChunks(body, 5000), 'clips', 'k', {
    resume: of.revision,
    readAt: async (offset, into) => {
      const bytes = body.subarray(offset, offset + into.length);
      into.set(bytes);
      return bytes.length;
    },
    putSlice: async () => new Response(null, { status: 200 }),
  });
  assert.deepEqual([done.skipped, done.segments, done.size], [2, 3, body.length]);
  assert.deepEqual(api.announced, [1]);
});

test('an open answered by a gateway 5xx and asked again cancels the revision its lost answer opened, and only that one', async () => {
  // Prepare: the first open runs but its answer is lost to a 503 with no code; another dispersal
  // of the same caller, with another token, is pending too.
  const opens: Array<{ revision: string; token?: string }> = [];
  const cancelled: string[] = [];
  let posts = 0;
  const client: ApiCalls & JsonCalls = {
    async postJson<T>(_path: string, body: unknown) {
      const { token } = body as { token?: string };
      const revision = `rev${++posts}`;
      opens.push({ revision, ...(token === undefined ? {} : { token }) });
      if (posts === 1) throw new DsnApiError(503, '', 'Service Unavailable');
      return { status: 201, body: { revision } as T };
    },
    async json<T>(method: string, path: string) {
      if (method === 'DELETE') {
        cancelled.push(path.slice(path.lastIndexOf('/') + 1));
        return { state: 'failed' } as T;
      }
      return {
        dispersals: [
          { revision: 'other', key: 'k', token: 'someone-elses-token-1' },
          ...opens.map((o) => ({ ...o, key: 'k' })),
        ],
      } as T;
    },
  };

  // Act
  const opened = await openWithToken(client, 'v', 'k', undefined, (call) =>
    call().catch(() => call()),
  );

  // Assess
  assert.equal(opened.revision, 'rev2');
  assert.equal(opens[0]?.token, opens[1]?.token, 'both tries carry one token');
  assert.match(opens[0]?.token ?? '', /^[A-Za-z0-9_-]{16,64}$/);
  assert.deepEqual(cancelled, ['rev1']);
});

test('an open answered at once lists and cancels nothing', async () => {
  const calls: string[] = [];
  const client: ApiCalls & JsonCalls = {
    async postJson<T>() {
      calls.push('POST');
      return { status: 201, body: { revision: 'r' } as T };
    },
    async json<T>(method: string) {
      calls.push(method);
      return {} as T;
    },
  };
  await openWithToken(client, 'v', 'k', { contentType: 'text/plain' }, (call) => call());
  assert.deepEqual(calls, ['POST']);
});
