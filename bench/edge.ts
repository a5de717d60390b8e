/**
 * `npm run bench:edge`: reads of a client group's hot objects after one planning round, with
 * the home units slowed by 200 ms (fault injection) and the edge units not, against the same
 * reads with pre-positioning off (no group), in one run. Also the hit ratio of a Zipf(1.1)
 * workload after planning, and the bytes staged against the group's budget.
 *
 * 200 small objects (2 KiB, one segment, 4-of-6) in vault `media`; 600 Zipf reads teach the
 * group its preference, the planner runs once, then the home units slow down.
 */
import { randomBytes } from 'node:crypto';
import { startBenchCloud } from './local-cloud.ts';

const OBJECTS = 200;
const WARM_READS = 600;
const MEASURED_READS = 200;
const HOT = 20;
const HOME_DELAY_MS = 200;
const BUDGET = 4 * 1024 * 1024;
const GROUP = 'bench';

const { api, stop } = await startBenchCloud('dsn-bench-edge');

/** A seeded generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ranks 0..n-1 with P(i) proportional to 1 / (i + 1)^s. */
function zipf(n: number, s: number, seed: number): () => number {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  const cumulative = weights.map((w) => (sum += w / total));
  const next = random(seed);
  return () => {
    const u = next();
    const i = cumulative.findIndex((c) => u <= c);
    return i === -1 ? n - 1 : i;
  };
}

async function must(res: Promise<Response>, status: number, what: string): Promise<Response> {
  const r = await res;
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${await r.text()}`);
  return r;
}

const keyOf = (i: number) => `show/ep-${String(i).padStart(3, '0')}`;

/** One read; its milliseconds and the path it took. */
async function read(i: number, group?: string): Promise<{ ms: number; path: string }> {
  const t = performance.now();
  const res = await must(
    api(`/vaults/media/objects/${keyOf(i)}`, {
      headers: group ? { 'x-dsn-client-group': group } : {},
    }),
    200,
    `GET ${keyOf(i)}`,
  );
  await res.arrayBuffer();
  return { ms: performance.now() - t, path: res.headers.get('x-dsn-edge') ?? '' };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

try {
  await must(
    api('/vaults', {
      method: 'POST',
      body: JSON.stringify({
        name: 'media',
        width: 6,
        readThreshold: 4,
        writeThreshold: 5,
        segmentSize: 64 * 1024,
        units: [0, 1, 2, 3, 4, 5],
      }),
    }),
    201,
    'create vault',
  );
  for (let i = 0; i < OBJECTS; i++) {
    const res = await api(`/vaults/media/objects/${keyOf(i)}`, {
      method: 'PUT',
      body: randomBytes(2048),
    });
    // A commit slower than the PUT's wait (a loaded machine) answers 202: poll it to the end.
    if (res.status === 202) {
      const { poll } = (await res.json()) as { poll: string };
      while (((await (await api(poll)).json()) as { state: string }).state === 'pending')
        await new Promise((r) => setTimeout(r, 200));
    } else await must(Promise.resolve(res), 201, `PUT ${keyOf(i)}`);
  }
  await must(
    api(`/admin/edge/groups/${GROUP}`, {
      method: 'PUT',
      body: JSON.stringify({ edgeUnits: [9, 10], budgetBytes: BUDGET }),
    }),
    200,
    'configure group',
  );
  const draw = zipf(OBJECTS, 1.1, 42);
  for (let r = 0; r < WARM_READS; r++) await read(draw(), GROUP);
  // The reads' counts reach the table in batches: wait for them before planning.
  for (;;) {
    const state = (await (await api(`/admin/edge/groups/${GROUP}`)).json()) as { reads: number };
    if (state.reads >= WARM_READS - 0.5) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const requested = (await (
    await must(
      api('/admin/edge/plan', { method: 'POST', body: JSON.stringify({ group: GROUP }) }),
      202,
      'plan',
    )
  ).json()) as { requestedAt: string };
  for (;;) {
    const { lastRun } = (await (await api('/admin/edge/plan')).json()) as {
      lastRun: { group?: string; startedAt: string } | null;
    };
    if (lastRun?.group === GROUP && lastRun.startedAt >= requested.requestedAt) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const state = (await (await api(`/admin/edge/groups/${GROUP}`)).json()) as {
    bytesUsed: number;
    staged: unknown[];
  };

  // Hit ratio of the same workload after planning, before the slowdown.
  let hits = 0;
  for (let r = 0; r < MEASURED_READS; r++) if ((await read(draw(), GROUP)).path === 'hit') hits++;

  for (let unit = 0; unit < 6; unit++)
    await must(
      api(`/admin/units/${unit}/fault`, {
        method: 'PUT',
        body: JSON.stringify({ mode: 'slow', delayMs: HOME_DELAY_MS }),
      }),
      200,
      'slow a home unit',
    );
  const on: number[] = [];
  const off: number[] = [];
  let hotHits = 0;
  for (let r = 0; r < MEASURED_READS; r++) {
    const i = r % HOT;
    const edge = await read(i, GROUP);
    if (edge.path === 'hit') hotHits++;
    on.push(edge.ms);
    off.push((await read(i)).ms);
  }
  for (let unit = 0; unit < 6; unit++)
    await api(`/admin/units/${unit}/fault`, { method: 'DELETE' });

  const p = (v: number[], q: number) => percentile(v, q).toFixed(1);
  console.log(
    `dsn edge pre-positioning on the local cloud (fauxqs, dynalite), Node ${process.version}; vault media 4-of-6, ${OBJECTS} objects of 2 KiB; home units 0-5 slowed by ${HOME_DELAY_MS} ms, edge units 9 and 10 not; ${WARM_READS} Zipf(1.1) reads, one planning round, then ${MEASURED_READS} reads of the ${HOT} hottest each way\n`,
  );
  console.log('| measure | pre-positioning on | off (no group) | off / on |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| read p50 of hot objects, ms | ${p(on, 50)} | ${p(off, 50)} | ${(percentile(off, 50) / percentile(on, 50)).toFixed(1)}x |`,
  );
  console.log(
    `| read p99 of hot objects, ms | ${p(on, 99)} | ${p(off, 99)} | ${(percentile(off, 99) / percentile(on, 99)).toFixed(1)}x |`,
  );
  console.log(
    `| hit ratio, Zipf(1.1) workload after planning | ${((100 * hits) / MEASURED_READS).toFixed(0)}% | — | |`,
  );
  console.log(
    `| hit ratio, hot objects | ${((100 * hotHits) / MEASURED_READS).toFixed(0)}% | — | |`,
  );
  console.log(
    `| bytes staged / budget | ${state.bytesUsed} / ${BUDGET} = ${(state.bytesUsed / BUDGET).toFixed(3)} (${state.staged.length} objects) | — | |`,
  );
} finally {
  await stop();
}
