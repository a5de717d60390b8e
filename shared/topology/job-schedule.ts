/**
 * The start and the schedule of topology jobs (the moving itself: mover.ts): a job is started
 * once when its topology becomes current, and the topology function's one-minute schedule asks
 * again for a step of each job that should run (a holder that died, a late write after its end).
 */
import type { MoverDeps } from './mover.ts';
import type { ProposalRecord } from './proposal.ts';
import { unitNumbers } from './topology.ts';
import { lateWriteUncovered, newTopologyJob, type TopologyJob } from './topology-job.ts';

/**
 * Starts the job that moves `vault`'s data from `parent` onto `current` (which just became
 * current), and asks for an invocation to run it. Idempotent: the same job is started once.
 */
export async function startTopologyJob(
  deps: Pick<MoverDeps, 'jobs' | 'trigger' | 'clock'>,
  current: ProposalRecord,
  parent: ProposalRecord,
): Promise<TopologyJob> {
  const before = unitNumbers(parent.topology);
  const after = unitNumbers(current.topology);
  const geometry = (t: ProposalRecord['topology']) =>
    `${t.width}/${t.readThreshold}/${t.segmentSize}`;
  const replace =
    geometry(parent.topology) === geometry(current.topology) &&
    before.filter((u, i) => after[i] !== u).length === 1;
  const pillar = before.findIndex((u, i) => after[i] !== u);
  const job = await deps.jobs.start(
    newTopologyJob({
      vault: current.vault,
      id: current.id,
      from: parent.id,
      kind: replace ? 'replace' : 'restripe',
      ...(replace ? { move: { from: before[pillar] as number, to: after[pillar] as number } } : {}),
      since: current.currentSince ?? deps.clock.now(),
      now: deps.clock.now(),
    }),
  );
  if (job.state === 'running') await deps.trigger.continue(job.vault, job.id);
  return job;
}

/**
 * Asks for a step of every running job: one whose holder died (a crash, a lost message) is
 * taken over once its lease has expired; a live one ignores the extra step (its lease holds).
 * A job done before a late write was noted (`lateWriteUncovered`) is reopened for one more pass.
 */
export async function resumeTopologyJobs(
  deps: Pick<MoverDeps, 'jobs' | 'trigger' | 'writer'>,
): Promise<string[]> {
  const resumed: string[] = [];
  for (const vault of await deps.writer.vaults.list()) {
    const job = await deps.jobs.get(vault.name);
    if (!job) continue;
    // Asked again on every schedule until a step takes it up: a lost trigger is not the end.
    const reopens =
      job.state === 'done' &&
      lateWriteUncovered(job) &&
      (await deps.jobs.reopen(job.vault, job.id));
    if (job.state !== 'running' && !reopens) continue;
    await deps.trigger.continue(job.vault, job.id);
    resumed.push(job.vault);
  }
  return resumed;
}
