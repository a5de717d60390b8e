import assert from 'node:assert/strict';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { gateServer, type ServerGate, sendApiError } from '../../../infra/local/server-gate.ts';

const servers: Server[] = [];

after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** A gated server: GET /slow waits until `release()`, anything else answers at once. */
async function gated(): Promise<{ port: number; gate: ServerGate; release(): void }> {
  const held: Array<() => void> = [];
  const server = createServer((req, res) => {
    const answer = () => res.end('ok');
    if (req.url === '/slow') held.push(answer);
    else answer();
  });
  servers.push(server);
  const gate = gateServer(server, {
    refuse: (_req, res, why, message) =>
      sendApiError(res, why === 'foreign' ? 403 : 503, why, message),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    gate,
    release: () => {
      for (const answer of held.splice(0)) answer();
    },
  };
}

interface Answer {
  status: number;
  body: string;
  connection?: string;
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  agent?: Agent,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('a request naming a foreign Host or Origin is refused before the server sees it', async () => {
  // Prepare
  const { port } = await gated();

  // Act
  const rebound = await get(port, '/', { host: 'rebind.evil.example' });
  const crossSite = await get(port, '/', { origin: 'https://evil.example' });
  const local = await get(port, '/', {
    host: `localhost:${port}`,
    origin: 'http://localhost:5173',
  });

  // Assess
  assert.equal(rebound.status, 403);
  assert.equal(JSON.parse(rebound.body).error.code, 'foreign');
  assert.equal(crossSite.status, 403);
  assert.deepEqual([local.status, local.body], [200, 'ok']);
});

test('drain closes idle keep-alive connections, lets requests in flight finish, refuses new ones', async () => {
  // Prepare: two idle keep-alive connections and one waiting request.
  const { port, gate, release } = await gated();
  const agent = new Agent({ keepAlive: true });
  await Promise.all([get(port, '/', {}, agent), get(port, '/', {}, agent)]);
  const slowAgent = new Agent({ keepAlive: true });
  const slow = get(port, '/slow', {}, slowAgent);
  while (gate.inFlight === 0) await new Promise((resolve) => setImmediate(resolve));

  // Act
  gate.drain();
  const refused = await get(port, '/').catch((err: NodeJS.ErrnoException) => err.code);
  const settled = gate.settle();
  release();
  const answered = await slow;
  await settled;

  // Assess: the drain closed both idle connections; the one in flight finished and closes.
  assert.equal(refused, 'ECONNREFUSED');
  assert.deepEqual(gate.ended, { requests: 0, idleConnections: 2 });
  assert.deepEqual([answered.status, answered.connection], [200, 'close']);
  assert.equal(gate.inFlight, 0);
  agent.destroy();
  slowAgent.destroy();
});

test('cut answers a request still waiting with 503 and counts it', async () => {
  // Prepare
  const { port, gate } = await gated();
  const slow = get(port, '/slow');
  while (gate.inFlight === 0) await new Promise((resolve) => setImmediate(resolve));

  // Act
  gate.drain();
  await gate.settle(20); // it does not finish in the grace
  gate.cut(true);
  const answer = await slow;

  // Assess
  assert.equal(answer.status, 503);
  assert.equal(JSON.parse(answer.body).error.code, 'stopping');
  assert.deepEqual(gate.ended, { requests: 1, idleConnections: 0 });
});
