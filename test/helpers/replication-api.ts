/** Replication jobs through the HTTP API, for integration tests: start one, wait for its end. */
import assert from 'node:assert/strict';
import { eventually } from './local-cloud.ts';

/** A job as `GET /replications/{id}` shows it (the fields tests read). */
export interface JobView {
  id: string;
  state: string;
  tasks: { total: number; done: number; failed: number; pending: number };
  bytes: { total: number; copied: number };
  workers: Array<{ worker: number; load: number; tasks: number }>;
  restarts: number;
  migrations: number;
  error?: string;
}

type Api = (path: string, init?: RequestInit) => Promise<Response>;

/** `POST /replications`: a 202 with the job running, or the test fails with the answer. */
export async function startJob(api: Api, body: unknown): Promise<JobView> {
  const res = await api('/replications', { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 202, await res.clone().text());
  const job = (await res.json()) as JobView;
  assert.equal(job.state, 'running');
  return job;
}

/** The job once it is no longer running, polled through the API. */
export function jobEnded(api: Api, id: string, timeoutMs = 180_000): Promise<JobView> {
  return eventually(
    async () => {
      const res = await api(`/replications/${id}`);
      assert.equal(res.status, 200);
      const job = (await res.json()) as JobView;
      return job.state === 'running' ? undefined : job;
    },
    `replication ${id} to end`,
    timeoutMs,
  );
}
