/**
 * Child process of bench:dsn: disperses one staged upload through the writer, alone in its
 * process, and reports its peak RSS. Endpoints and resource names come from the environment.
 */
import { runtime } from '../shared/aws/runtime.ts';
import { wireUploads, wireWriter } from '../shared/aws/store/wire.ts';
import { disperseUpload } from '../shared/store/index.ts';

const rt = runtime('bench');
const d = { ...wireUploads(rt), writer: wireWriter(rt).writer };
const uploadId = process.argv[2] as string;
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const started = performance.now();
const outcome = await disperseUpload(d, { uploadId }, 120_000);
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
process.stdout.write(
  JSON.stringify({
    state: outcome?.state,
    seconds: (performance.now() - started) / 1000,
    baseline,
    peak,
  }),
);
