/**
 * Topology by quorum on the local cloud, with the real handlers: a proposal goes to the vault's
 * units over the network topic, each unit's function votes with a conditional write, and the
 * vote that reaches T switches the vault. Writes after the switch go to the new units.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
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

  before(async () => {
    dir = await tempDir('dsn-topology');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path);
  });

  after(async () => {
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
      [{ width: 9, readThreshold: 4, writeThreshold: 5 }, 'width', /at most the pool's 8/],
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
    assert.equal(
      (await api('/vaults/replace/objects/before', { method: 'PUT', body: before })).status,
      201,
    );
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
    const vault = (await (await api('/vaults/replace')).json()) as { units: number[] };
    assert.deepEqual(vault.units, expected);

    // A write after the switch (past the writers' one-second vault cache) lands on the new units.
    const body = randomBytes(150 * 1024);
    await eventually(async () => {
      const res = await api('/vaults/replace/objects/after', { method: 'PUT', body });
      assert.equal(res.status, 201, await res.clone().text());
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

    // The slot is free again: the next change proposes on the new current topology.
    const next = await propose('replace', { width: 6, readThreshold: 3, writeThreshold: 4 });
    assert.equal(next.status, 202, await next.clone().text());
  });
});
