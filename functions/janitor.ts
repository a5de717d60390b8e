/**
 * The janitor, on a schedule: slices of revisions that will never be, or are no longer, visible
 * go; so do temporary listeners (`dsn watch`'s) that expired, with their queues.
 */
import { wireListenerSweep } from '../shared/aws/listeners/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { wireJanitor } from '../shared/aws/store/wire.ts';
import { sweepTemporaryListeners } from '../shared/listeners/index.ts';
import { runJanitor } from '../shared/store/index.ts';

const rt = runtime('store');
const deps = wireJanitor(rt);
const sweep = wireListenerSweep(runtime('listeners'));

export const handler = async () => {
  const report = await runJanitor(deps);
  rt.log.info('janitor pass', { janitor: report });
  const listeners = await sweepTemporaryListeners(sweep);
  if (listeners.listeners > 0) rt.log.info('temporary listeners swept', { listeners });
  return { ...report, temporaryListeners: listeners };
};
