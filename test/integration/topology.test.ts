/**
 * Topology by quorum on the local cloud, with the real handlers: a proposal goes to the vault's
 * units over the network topic, each unit's function votes with a conditional write, and the
 * vote that reaches T switches the vault. Writes after the switch go to the new units.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
  type CloudClients,
  cloudClients,
  createVault,
  eventually,
  PROJECT_ROOT,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';

interface View {
  current: string;
  topologies: Array<{
    id: string;
    parent: string | null;
    units: number[];
    width: number;
    readThreshold: number;
    writeThreshold: number;
    votes: number[];
    state: string;
  }>;
}

describe('vault topologies changed by a quorum of their units', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const propose = (vault: string, body: unknown) =>
    api(`/vaults/${vault}/topology`, { method: 'POST', body: JSON.stringify(body) });
  const view = async (vault: string) => {
    const res = await api(`/vaults/${vault}/topology`);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as View;
  };

  let s3: S3Client;
  let clients: CloudClients;
  const keysOn = async (unit: number, prefix: string) =>
    (
      await s3.send(
        new ListObjectsV2Command({ Bucket: cloud.ref(`Unit${unit}Bucket`), Prefix: prefix }),
      )
    ).Contents?.map((o) => o.Key as string) ?? [];
  /**
   * A PUT that must commit: 201, or (on a machine so loaded that the commit outlasts the API's
   * wait) 202 and then its revision committed.
   */
  const putExact = async (vault: string, key: string, body: Uint8Array) => {
    const res = await api(`/vaults/${vault}/objects/${key}`, {
      method: 'PUT',
      body: new Uint8Array(body),
    });
    const text = await res.text();
    if (res.status === 201) return;
    assert.equal(res.status, 202, `${key}: ${text}`);
    const { poll } = JSON.parse(text) as { poll: string };
    await eventually(
      async () => {
        const r = (await (await api(poll)).json()) as { state: string };
        assert.ok(['pending', 'committed', 'garbage'].includes(r.state), `${key}: ${r.state}`);
        return r.state === 'pending' ? undefined : true;
      },
      `the commit of ${key}`,
      60_000,
    );
  };
  const getExact = async (vault: string, key: string, body: Uint8Array) => {
    const res = await api(`/vaults/${vault}/objects/${key}`);
    assert.equal(res.status, 200, `${key}: ${res.status}`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(body), `${key} reads back exact`);
  };
  /** Waits for the vault's proposal to be current and its job done; returns the job. */
  const jobDone = async (vault: string, proposal: string) => {
    const job = await eventually(
      async () => {
        const res = await api(`/vaults/${vault}/topology/job`);
        if (res.status !== 200) return undefined;
        const j = (await res.json()) as Record<string, unknown>;
        assert.notEqual(j.state, 'failed', JSON.stringify(j));
        return j.id === proposal && j.state === 'done' ? j : undefined;
      },
      `the topology job of ${vault}`,
      180_000,
    );
    return job;
  };

  before(async () => {
    dir = await tempDir('dsn-topology');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path);
    clients = cloudClients(cloud);
    s3 = clients.s3;
  });

  after(async () => {
    clients?.destroy();
    await cloud?.stop();
    await dir?.remove();
  });

  test('a vault starts with its genesis topology: no parent, its units in pillar order', async () => {
    // Prepare
    await createVault(api, { name: 'genesis', writeThreshold: 5, segmentSize: 64 * 1024 });

    // Act
    const first = await view('genesis');
    const again = await view('genesis');

    // Assess
    assert.equal(first.topologies.length, 1);
    const [genesis] = first.topologies;
    assert.equal(genesis?.parent, null);
    assert.deepEqual(genesis?.units, [0, 1, 2, 3, 4, 5]);
    assert.equal(genesis?.state, 'current');
    assert.equal(first.current, genesis?.id);
    assert.match(first.current, /^[0-9a-f]{64}$/);
    assert.deepEqual(again, first);
  });

  test('bad changes are refused with 400 naming the rule', async () => {
    // Prepare
    await createVault(api, { name: 'rules', writeThreshold: 5, segmentSize: 64 * 1024 });
    const cases: Array<[unknown, string, RegExp]> = [
      [{ replace: { unit: 3, with: 4 } }, 'replace.with', /already holds pillar/],
      [{ replace: { unit: 7, with: 6 } }, 'replace.unit', /not a unit of vault/],
      [{ width: 10, readThreshold: 4, writeThreshold: 5 }, 'width', /at most the pool's 9/],
      [{ width: 6, readThreshold: 7, writeThreshold: 7 }, 'readThreshold', /k must not exceed n/],
      [{ replace: { unit: 3 } }, 'replace.with', /./],
      [{ drain: 'three' }, 'drain', /integer/],
    ];

    for (const [body, field, rule] of cases) {
      // Act
      const res = await propose('rules', body);

      // Assess
      const text = await res.text();
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${text}`);
      const { error } = JSON.parse(text) as { error: { field?: string; message: string } };
      assert.ok(error.message.startsWith(`${field}:`), `${JSON.stringify(body)}: ${text}`);
      assert.match(error.message, rule);
    }
    assert.equal((await view('rules')).topologies.length, 1, 'nothing was proposed');
  });

  test('a change takes effect once T current units voted; a second proposal on the same parent while the first is open gets 409; writes then go to the new units', async () => {
    // Prepare
    await createVault(api, { name: 'replace', writeThreshold: 5, segmentSize: 64 * 1024 });
    const before = randomBytes(150 * 1024);
    await putExact('replace', 'before', before);
    const genesis = (await view('replace')).current;

    // Act: two proposals on the same parent at once.
    const answers = await Promise.all([
      propose('replace', { replace: { unit: 3, with: 7 } }),
      propose('replace', { drain: 2 }),
    ]);

    // Assess: the second is refused (409) while the first is open; if the API took them one
    // after the other and the first was decided already, the second's parent is the first.
    const texts = await Promise.all(answers.map((r) => r.clone().text()));
    const ids = answers.map((r, i) =>
      r.status === 202
        ? (JSON.parse(texts[i] as string) as { proposal: string }).proposal
        : undefined,
    );
    for (const [i, r] of answers.entries()) assert.ok([202, 409].includes(r.status), texts[i]);
    assert.ok(
      answers.some((r) => r.status === 202),
      String(texts),
    );
    const winner = ids.find((id) => id !== undefined) as string;
    assert.match(winner, /^[0-9a-f]{64}$/);
    const applied = await eventually(async () => {
      const v = await view('replace');
      const settled = v.topologies.every((t) => t.state !== 'open');
      return settled && v.topologies.some((t) => t.id === winner && t.state !== 'open')
        ? v
        : undefined;
    }, 'the proposals to be decided');
    const mine = applied.topologies.find((t) => t.id === winner);
    assert.equal(mine?.parent, genesis);
    assert.ok((mine?.votes.length ?? 0) >= 5, `votes ${mine?.votes}`);
    assert.ok(
      mine?.votes.every((u) => [0, 1, 2, 3, 4, 5].includes(u)),
      'only current units vote',
    );
    assert.equal(applied.topologies.find((t) => t.id === genesis)?.state, 'superseded');
    const children = applied.topologies.filter((t) => t.parent === genesis);
    assert.equal(
      children.filter((t) => t.state === 'current' || t.state === 'superseded').length,
      1,
    );
    if (ids.every((id) => id !== undefined)) {
      const parents = applied.topologies.filter((t) => ids.includes(t.id)).map((t) => t.parent);
      assert.ok(
        parents.some((p) => ids.includes(p ?? '')),
        'taken one after the other, not competing',
      );
    }
    const proposal = applied.current;
    const expected = applied.topologies.find((t) => t.id === proposal)?.units ?? [];
    // The API's vault cache (1 s) may still hold the record it read just before the switch.
    await eventually(async () => {
      const vault = (await (await api('/vaults/replace')).json()) as { units: number[] };
      return JSON.stringify(vault.units) === JSON.stringify(expected) ? true : undefined;
    }, 'the vault record to name the new units');

    // A write after the switch (past the writers' one-second vault cache) lands on the new units.
    const body = randomBytes(150 * 1024);
    await eventually(async () => {
      await putExact('replace', 'after', body);
      const e = (await (await api('/vaults/replace/objects/after?explain')).json()) as {
        segments: Array<{ pillars: Array<{ unit: number }> }>;
      };
      const units = e.segments[0]?.pillars.map((p) => p.unit);
      return JSON.stringify(units) === JSON.stringify(expected) ? true : undefined;
    }, 'a write under the new topology');
    const read = await api('/vaults/replace/objects/after');
    assert.deepEqual(Buffer.from(await read.arrayBuffer()), body);
    const old = await api('/vaults/replace/objects/before');
    assert.deepEqual(Buffer.from(await old.arrayBuffer()), before);

    // While the change's job runs, no other change is taken; once it is done, the next one is.
    await jobDone('replace', proposal);
    const next = await propose('replace', { width: 6, readThreshold: 3, writeThreshold: 4 });
    assert.equal(next.status, 202, await next.clone().text());
  });

  test('replacing unit 3 under a writer and a reader loop: every read exact, every write commits, no slice left on unit 3, explain healthy on unit 7 and showing each pillar under both topologies', async () => {
    // Prepare: objects of one to four segments, and the two loops.
    await createVault(api, { name: 'load', writeThreshold: 5, segmentSize: 64 * 1024 });
    // Record the genesis topology, then wait out the writers' one-second vault cache, so the
    // seeds are written under it (explain then shows their pillars under it and under the new).
    const genesis = (await view('load')).current;
    await sleep(1_200);
    const objects = new Map<string, Uint8Array>();
    for (let i = 0; i < 12; i++) {
      const body = randomBytes(1 + ((i * 37_001) % (256 * 1024)));
      await putExact('load', `seed-${i}`, body);
      objects.set(`seed-${i}`, body);
    }
    let stop = false;
    let writes = 0;
    let reads = 0;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const key = `loop-${i % 8}`;
        const body = randomBytes(1 + ((i * 9_973) % (160 * 1024)));
        await putExact('load', key, body);
        objects.set(key, body);
        writes++;
      }
    })();
    const reader = (async () => {
      for (let i = 0; !stop; i++) {
        const keys = [...objects.keys()];
        const key = keys[i % keys.length] as string;
        const body = objects.get(key) as Uint8Array;
        // A key the writer replaces meanwhile may read either body: only seed keys are fixed.
        if (key.startsWith('seed-')) await getExact('load', key, body);
        reads++;
      }
    })();

    // Act
    const res = await propose('load', { replace: { unit: 3, with: 7 } });
    assert.equal(res.status, 202, await res.clone().text());
    const { proposal, job } = (await res.json()) as { proposal: string; job: string };
    assert.equal(job, proposal);
    const done = await jobDone('load', proposal);
    stop = true;
    await Promise.all([writer, reader]);

    // Assess
    assert.ok(writes > 0 && reads > 0, `${writes} writes, ${reads} reads during the job`);
    // The total is counted once, as the job starts, while the writer loop goes on: a key counted
    // under the old topology and rewritten under the new one before the mover reaches it needs
    // no move (done < total; CI saw 36 of 37 once), and one written under the old topology in
    // the writers' cache window after the count is moved too (done > total). Completeness is
    // what the checks below assert: every object exact, nothing left on unit 3, healthy on 7.
    assert.ok((done.segmentsDone as number) >= 12, `${done.segmentsDone} segments moved`);
    assert.ok((done.bytesMoved as number) > 0);
    for (const [key, body] of objects) await getExact('load', key, body);
    assert.deepEqual(await keysOn(3, 'load/'), [], 'no slice of the vault is left on unit 3');
    for (const key of objects.keys()) {
      await eventually(async () => {
        const e = (await (await api(`/vaults/load/objects/${key}?explain`)).json()) as {
          verdict: string;
          topology?: string;
          topologies?: Array<{ id: string; state: string; units: number[] }>;
          segments: Array<{
            good: number;
            pillars: Array<{ unit: number; units?: Record<string, number> }>;
          }>;
        };
        const pillars = e.segments[0]?.pillars ?? [];
        assert.deepEqual(
          pillars.map((p) => p.unit),
          [0, 1, 2, 7, 4, 5],
        );
        assert.deepEqual(
          pillars.map((p) => p.units?.[proposal]),
          [0, 1, 2, 7, 4, 5],
        );
        if (key.startsWith('seed-')) {
          // Written under genesis: each pillar shows its unit under both, pillar 3 moved 3 -> 7.
          assert.equal(e.topology, genesis);
          assert.deepEqual(e.topologies, [
            { id: genesis, state: 'superseded', units: [0, 1, 2, 3, 4, 5] },
            { id: proposal, state: 'current', units: [0, 1, 2, 7, 4, 5] },
          ]);
          assert.deepEqual(
            pillars.map((p) => p.units?.[genesis]),
            [0, 1, 2, 3, 4, 5],
          );
        }
        return e.verdict === 'healthy' && e.segments.every((s) => s.good === 6) ? e : undefined;
      }, `${key} healthy on unit 7`);
    }
    const shown = await view('load');
    assert.equal(shown.current, proposal);
  });

  test('re-striping 40 objects 4-of-6 to 6-of-9 and back to 3-of-5 keeps every read exact, during the jobs and after; every manifest has the new geometry', async () => {
    // Prepare
    await createVault(api, { name: 'stripe', writeThreshold: 5, segmentSize: 64 * 1024 });
    const objects = new Map<string, Uint8Array>();
    for (let i = 0; i < 40; i++) {
      const body = randomBytes((i * 7_919) % (200 * 1024));
      await putExact('stripe', `obj-${String(i).padStart(2, '0')}`, body);
      objects.set(`obj-${String(i).padStart(2, '0')}`, body);
    }

    for (const geometry of [
      { width: 9, readThreshold: 6, writeThreshold: 7 },
      { width: 5, readThreshold: 3, writeThreshold: 4 },
    ]) {
      // Act: the change, with every object read again and again during its job.
      const res = await propose('stripe', geometry);
      assert.equal(res.status, 202, await res.clone().text());
      const { proposal } = (await res.json()) as { proposal: string };
      let stop = false;
      let rounds = 0;
      const reader = (async () => {
        while (!stop) {
          for (const [key, body] of objects) await getExact('stripe', key, body);
          rounds++;
        }
      })();
      const done = await jobDone('stripe', proposal);
      stop = true;
      await reader;

      // Assess
      assert.ok(rounds >= 1, 'the objects were read during the job');
      assert.equal(done.kind, 'restripe');
      for (const [key, body] of objects) {
        await getExact('stripe', key, body);
        const e = (await (await api(`/vaults/stripe/objects/${key}?explain`)).json()) as {
          width: number;
          readThreshold: number;
        };
        assert.deepEqual(
          { width: e.width, readThreshold: e.readThreshold },
          { width: geometry.width, readThreshold: geometry.readThreshold },
          key,
        );
      }
    }
  });
});
