/**
 * `npm run bench:listeners`: 1,000 listeners on a 4-level tree across 4 delivery nodes, then 500
 * commits under it, twice: in memory, to count exactly what one event costs (messages to nodes
 * beside the per-listener messages a naive fan-out would send, and DynamoDB reads), and on the
 * local cloud through the HTTP API, to time commit to delivery at a webhook of this process.
 *
 * `BENCH_LISTENERS` and `BENCH_COMMITS` change the sizes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createListener, fanOut, hears, pathsOf } from '../shared/listeners/index.ts';
import { listenersWorld } from '../test/helpers/listeners-world.ts';
import { benchInt } from './env.ts';
import { startBenchCloud } from './local-cloud.ts';

const LISTENERS = benchInt('BENCH_LISTENERS', 1000, 1);
const COMMITS = benchInt('BENCH_COMMITS', 500, 1);
const NODES = 4;
const FAN = 4;

/** A small deterministic generator, so both runs see the same tree and keys. */
function random(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s >>> 16) % n;
  };
}

/** `""`, `d0/`, `d0/e1/`, `d0/e1/f2/` or a key `d0/e1/f2/k3`: four levels below the vault. */
function pathAt(pick: (n: number) => number, depth: number): string {
  const names = ['d', 'e', 'f'];
  let path = '';
  for (let level = 0; level < Math.min(depth, 3); level++) path += `${names[level]}${pick(FAN)}/`;
  return depth === 4 ? `${path}k${pick(FAN)}` : path;
}
const listenerPaths = (() => {
  const pick = random(7);
  return Array.from({ length: LISTENERS }, () => pathAt(pick, pick(5)));
})();
const commitKeys = (() => {
  const pick = random(11);
  return Array.from({ length: COMMITS }, () => pathAt(pick, 4));
})();
const naive = (key: string) =>
  listenerPaths.filter((p) => hears(p, p === '' || p.endsWith('/'), key)).length;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

// In memory: exact counts.
const w = listenersWorld(NODES);
for (const path of listenerPaths)
  await createListener(w.registry, 'photos', {
    path,
    target: { type: 'sqs', queueUrl: 'http://q/000000000000/bench' },
  });
w.participants.reads.length = 0;
let messages = 0;
let perListener = 0;
let depthPlusOne = 0;
for (const key of commitKeys) {
  const result = await fanOut(w.fanOutDeps, w.committed(key));
  messages += result.messages;
  perListener += naive(key);
  depthPlusOne += pathsOf(key).length;
}
const reads = w.participants.reads;
console.log(
  `listeners: ${LISTENERS} on a ${FAN}-way tree 4 levels deep, ${NODES} nodes; ${COMMITS} commits`,
);
console.log('');
console.log('| measure (per event) | listeners (this) | naive fan-out (per listener) |');
console.log('| --- | --- | --- |');
console.log(
  `| messages sent | ${(messages / COMMITS).toFixed(2)} (one per listening node, at most ${NODES}) | ${(perListener / COMMITS).toFixed(2)} |`,
);
console.log(
  `| DynamoDB reads | ${(reads.length / COMMITS).toFixed(2)} batch of ${(reads.reduce((n, r) => n + r.length, 0) / reads.length).toFixed(2)} items (depth + 1 = ${(depthPlusOne / COMMITS).toFixed(2)}) | |`,
);

// On the local cloud: commit to delivery at a webhook.
const arrivals = new Map<string, number>();
const latencies: number[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      revision: string;
      time: string;
    };
    if (!arrivals.has(doc.revision)) {
      arrivals.set(doc.revision, Date.now());
      latencies.push(Date.now() - Date.parse(doc.time));
    }
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
const { api, stop } = await startBenchCloud('dsn-bench-listeners');
try {
  await api('/vaults');
  const started = performance.now();
  for (let i = 0; i < LISTENERS; i += 20)
    await Promise.all(
      listenerPaths.slice(i, i + 20).map(async (path) => {
        const res = await api('/vaults/default/listeners', {
          method: 'POST',
          body: JSON.stringify({
            path,
            events: ['object.committed'],
            target: { type: 'webhook', url: hook },
          }),
        });
        if (res.status !== 201) throw new Error(`listener: ${res.status} ${await res.text()}`);
      }),
    );
  console.log('');
  console.log(
    `local cloud: ${LISTENERS} listeners created in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  let listened = 0;
  for (const key of commitKeys) {
    const res = await api(`/vaults/default/objects/${key}`, { method: 'PUT', body: key });
    if (res.status !== 201) throw new Error(`PUT ${key}: ${res.status} ${await res.text()}`);
    if (naive(key) > 0) listened++;
  }
  const deadline = Date.now() + 60_000;
  while (latencies.length < listened && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `commit to first delivery, ${sorted.length} of ${listened} listened commits: p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted.at(-1)} ms`,
  );
} finally {
  server.close();
  await stop();
}
