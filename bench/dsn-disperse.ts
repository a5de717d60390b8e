/**
 * Child process of bench:dsn: disperses one staged upload through the writer, alone in its
 * process, and reports its peak RSS. Endpoints and resource names come from the environment.
 * With `--steps SECONDS`, as the disperser does past its time: steps of that long, each
 * resuming the last (a ranged read of staging, the saved SHA-256), one after another here.
 */
import { runtime } from '../shared/aws/runtime.ts';
import { wireUploads, wireWriter } from '../shared/aws/store/wire.ts';
import { type DispersalQueue, disperseUpload } from '../shared/store/index.ts';

const rt = runtime('bench');
const uploadId = process.argv[2] as string;
const stepMs = process.argv[3] === '--steps' ? Number(process.argv[4]) * 1000 : undefined;
/** The next steps, queued here rather than for the disperser function. */
const queued: number[] = [];
const steps: DispersalQueue = {
  enqueue: async (_id, step = 0) => void queued.push(step),
  // A dispersal that ends before its commit is the bench's to wait for, not a follow-up's.
  follow: async () => {},
  redeliveryDelayMs: async () => 5_400_000,
};
const uploads = wireUploads(rt);
const d = {
  ...uploads,
  ...(stepMs === undefined ? {} : { dispersal: steps }),
  writer: wireWriter(rt).writer,
};
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const started = performance.now();
const deadline = () =>
  stepMs === undefined
    ? undefined
    : { at: rt.clock.now() + stepMs, endsAt: rt.clock.now() + stepMs + 120_000 };
let outcome = await disperseUpload(d, { uploadId }, 120_000, deadline());
let taken = 1;
while (outcome?.state === 'paused') {
  const step = queued.shift();
  outcome = await disperseUpload(d, { uploadId, step }, 120_000, deadline());
  taken++;
}
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
process.stdout.write(
  JSON.stringify({
    state: outcome?.state,
    seconds: (performance.now() - started) / 1000,
    steps: taken,
    baseline,
    peak,
  }),
);
