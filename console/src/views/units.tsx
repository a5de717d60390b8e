/**
 * The unit health grid: per unit, whether the deployment's health probe reaches its bucket,
 * and on the local cloud (its admin routes) the injected fault, S3 request counts and slices
 * held, with controls to inject and clear faults.
 */
import { useState } from 'preact/hooks';
import { DsnApiError, type DsnClient } from '../../../client/web.ts';
import { usePoll } from '../use-poll.ts';

/**
 * The local cloud's fault modes (shared/store/fault.ts's FAULT_MODES; that module validates keys
 * with node's Buffer, so a page does not load it). Another mode would get a 400 naming the rule.
 */
const FAULT_MODES = ['write-fail', 'read-fail', 'slow', 'corrupt'] as const;

interface UnitRow {
  unit: number;
  bucket: string;
  reachable?: boolean;
  probeError?: string;
  fault?: { mode: string; delayMs?: number } | null;
  requests?: { put: number; get: number; head: number; delete: number; list: number };
  slices?: number;
}

/** A local-cloud admin route, or undefined where there is none (a deployment on AWS). */
async function localAdmin<T>(dsn: DsnClient, path: string): Promise<T | undefined> {
  try {
    return await dsn.json<T>('GET', path);
  } catch (err) {
    if (err instanceof DsnApiError && err.status === 404) return undefined;
    throw err;
  }
}

async function loadUnits(dsn: DsnClient): Promise<{ rows: UnitRow[]; local: boolean }> {
  // A degraded deployment answers 503 with the same report: that is what this grid is for.
  const health = (await (await dsn.call('GET', '/health', { accept: [503] })).json()) as {
    checks: Array<{ name: string; ok: boolean; error?: string }>;
  };
  const rows = new Map<number, UnitRow>();
  for (const check of health.checks) {
    const m = /^unit-(\d+):(.+)$/.exec(check.name);
    if (!m) continue;
    rows.set(Number(m[1]), {
      unit: Number(m[1]),
      bucket: m[2] as string,
      reachable: check.ok,
      ...(check.error ? { probeError: check.error } : {}),
    });
  }
  const [faults, requests, slices] = await Promise.all([
    localAdmin<{ faults: Array<{ unit: number; mode: string; delayMs?: number }> }>(
      dsn,
      '/admin/faults',
    ),
    localAdmin<{ units: Array<UnitRow['requests'] & { unit: number; bucket: string }> }>(
      dsn,
      '/admin/requests',
    ),
    localAdmin<{ units: Array<{ unit: number; bucket: string; slices: number }> }>(
      dsn,
      '/admin/slices',
    ),
  ]);
  for (const r of requests?.units ?? []) {
    const row = rows.get(r.unit) ?? { unit: r.unit, bucket: r.bucket };
    const { unit: _u, bucket: _b, ...counts } = r;
    rows.set(r.unit, { ...row, requests: counts as UnitRow['requests'] });
  }
  for (const s of slices?.units ?? []) {
    const row = rows.get(s.unit);
    if (row) row.slices = s.slices;
  }
  if (faults)
    for (const row of rows.values())
      row.fault = faults.faults.find((f) => f.unit === row.unit) ?? null;
  return { rows: [...rows.values()].sort((a, b) => a.unit - b.unit), local: faults !== undefined };
}

export function UnitsView({ dsn }: { dsn: DsnClient }) {
  const { data, error, refresh } = usePoll(() => loadUnits(dsn), 3_000);
  const [mode, setMode] = useState<string>('read-fail');
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const act = async (label: string, method: string, unit: number) => {
    setBusy(label);
    try {
      await dsn.call(method, `/admin/units/${unit}/fault`, {
        ...(method === 'PUT'
          ? { body: JSON.stringify({ mode, ...(mode === 'slow' ? { delayMs: 200 } : {}) }) }
          : {}),
        headers: { 'content-type': 'application/json' },
      });
    } finally {
      setBusy(undefined);
      refresh();
    }
  };
  return (
    <section>
      <h2>Storage units</h2>
      {error && <p class="error">{error}</p>}
      {data && !data.local && (
        <p class="note">Faults, request counts and slice counts exist on the local cloud only.</p>
      )}
      {data?.local && (
        <p>
          <label>
            fault to inject{' '}
            <select
              data-testid="fault-mode"
              value={mode}
              onChange={(e) => setMode((e.target as HTMLSelectElement).value)}
            >
              {FAULT_MODES.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
        </p>
      )}
      <div class="grid" data-testid="unit-grid">
        {data?.rows.map((u) => {
          const state = u.fault ? 'fault' : u.reachable === false ? 'down' : 'up';
          return (
            <div class={`unit ${state}`} key={u.unit} data-unit={u.unit} data-state={state}>
              <h3>unit {u.unit}</h3>
              <p class="bucket">{u.bucket}</p>
              <p data-testid="unit-state">
                {u.fault
                  ? `fault: ${u.fault.mode}${u.fault.delayMs ? ` ${u.fault.delayMs} ms` : ''}`
                  : u.reachable === false
                    ? `unreachable: ${u.probeError ?? ''}`
                    : 'reachable'}
              </p>
              {u.slices !== undefined && <p>{u.slices} slices</p>}
              {u.requests && (
                <p class="counts">
                  PUT {u.requests.put} · GET {u.requests.get} · HEAD {u.requests.head} · DELETE{' '}
                  {u.requests.delete}
                </p>
              )}
              {data.local &&
                (u.fault ? (
                  <button
                    type="button"
                    disabled={busy !== undefined}
                    onClick={() => act(`clear ${u.unit}`, 'DELETE', u.unit)}
                  >
                    clear fault
                  </button>
                ) : (
                  <button
                    type="button"
                    disabled={busy !== undefined}
                    onClick={() => act(`inject ${u.unit}`, 'PUT', u.unit)}
                  >
                    inject {mode}
                  </button>
                ))}
            </div>
          );
        })}
      </div>
    </section>
  );
}
