/**
 * The janitor, on a schedule: slices of revisions that will never be, or are no longer, visible
 * go; so do temporary listeners (`dsn watch`'s) that expired, with their queues. The sweep of
 * revisions runs as the holder of the `janitor` role, its ledger writes fenced by the token.
 */
import { wireListenerSweep } from '../shared/aws/listeners/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { wireJanitor } from '../shared/aws/store/wire.ts';
import { wireRoles } from '../shared/aws/topology/wire.ts';
import { sweepTemporaryListeners } from '../shared/listeners/index.ts';
import { runJanitor } from '../shared/store/index.ts';
import { withRole } from '../shared/topology/index.ts';

const rt = runtime('store');
const { roles, fenced } = wireRoles(rt, 'janitor');
const deps = wireJanitor(fenced);
const sweep = wireListenerSweep(runtime('listeners'));

export const handler = async (
  _event: unknown,
  context?: { getRemainingTimeInMillis(): number },
) => {
  const run = await withRole(roles, 'janitor', (role) =>
    runJanitor({
      ...deps,
      role,
      ...(context ? { remainingMs: () => context.getRemainingTimeInMillis() } : {}),
    }),
  );
  if (run.ran) rt.log.info('janitor pass', { janitor: run.result, token: run.token });
  else rt.log.info('janitor role held elsewhere', { holder: run.heldBy?.holder });
  const listeners = await sweepTemporaryListeners(sweep);
  if (listeners.listeners > 0) rt.log.info('temporary listeners swept', { listeners });
  return {
    ...(run.ran ? run.result : { skipped: 'janitor role held elsewhere' }),
    temporaryListeners: listeners,
  };
};
