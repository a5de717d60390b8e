/** The janitor, on a schedule: slices of revisions that will never be, or are no longer, visible go. */
import { wireDeployment } from '../shared/aws/deployment.ts';
import { runJanitor } from '../shared/store/index.ts';

const d = wireDeployment();

export const handler = async () => {
  const report = await runJanitor({ ledger: d.ledger, slices: d.slices });
  console.log(JSON.stringify({ janitor: report }));
  return report;
};
