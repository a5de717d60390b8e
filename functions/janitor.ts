/** The janitor, on a schedule: slices of revisions that will never be, or are no longer, visible go. */
import { runtime } from '../shared/aws/runtime.ts';
import { wireJanitor } from '../shared/aws/store/wire.ts';
import { runJanitor } from '../shared/store/index.ts';

const rt = runtime('store');
const deps = wireJanitor(rt);

export const handler = async () => {
  const report = await runJanitor(deps);
  rt.log.info('janitor pass', { janitor: report });
  return report;
};
