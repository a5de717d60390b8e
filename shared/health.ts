/**
 * Health of a deployment: every resource the system depends on answers. Probes are small
 * functions supplied by an adapter, so this file knows nothing of AWS.
 */

export interface Probe {
  /** What is probed, e.g. `table:dsn-dev-vaults`. */
  name: string;
  run(): Promise<void>;
}

export interface ProbeResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  stage: string;
  checks: ProbeResult[];
}

/** Runs every probe at once, each bounded by `timeoutMs`; one failure makes the report degraded. */
export async function checkHealth(
  stage: string,
  probes: Probe[],
  timeoutMs = 2000,
): Promise<HealthReport> {
  const checks = await Promise.all(
    probes.map(async (probe): Promise<ProbeResult> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          probe.run(),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer within ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
        return { name: probe.name, ok: true, ms: Math.round(performance.now() - started) };
      } catch (err) {
        const e = err as Error;
        return {
          name: probe.name,
          ok: false,
          ms: Math.round(performance.now() - started),
          error: `${e.name}: ${e.message}`,
        };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { status: checks.every((c) => c.ok) ? 'ok' : 'degraded', stage, checks };
}
