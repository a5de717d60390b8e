/**
 * The V8 flags the local cloud's process runs with: `npm start`, the benchmarks that start a
 * local cloud (`npm run bench:*`), and the tests' cloud processes. package.json writes them
 * out in those scripts (V8 flags are not allowed in NODE_OPTIONS, and setting them once the
 * process runs is unsafe); a unit test keeps the scripts and this list in step.
 *
 * `--no-concurrent-marking`: the local cloud is one process, with the emulators on its main
 * thread and some thirty function sandboxes on worker threads, on a laptop's few cores. With
 * V8's concurrent marking, an 8 MiB PUT (its slices and their request bodies are 36 MiB of
 * buffers) began a full collection of the main heap 1.1 times on average, and each one cost
 * the helper threads some 60 ms of CPU; without it, 0.4 times, marked in steps on the main
 * thread (about 10 ms each). CPU per PUT went from 274-289 ms to 210-238 ms, and the PUT's
 * time from 206-215 to 166-189 ms, in paired runs on this project's two-core build machine.
 * Only the collector's schedule changes, not what any program sees. The price: GETs of 8 MiB
 * took about a fifth longer (four of them 136-142 ms against 105-125, raw GetObject alike),
 * since the marking runs in steps on the main thread, where the emulators serve. Deployed
 * functions run with Node's defaults, as Lambda starts them.
 *
 * Tried and left out: `--external-memory-accounted-in-global-limit`, which counts buffers toward
 * the heap's own growing limit instead of starting a full collection every 64 MB of them. It
 * took the PUT's CPU from 190-203 ms to 170-178 ms, but let buffers pile up: 16 rounds of four
 * 8 MiB GETs each way ended at 4.0 GB of RSS (1.25 GB without), with rounds of both sides at
 * 400-470 ms against 80-160.
 */
export const LOCAL_CLOUD_NODE_FLAGS = ['--no-concurrent-marking'] as const;

/** The flags this process was started without. */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return LOCAL_CLOUD_NODE_FLAGS.filter((f) => !execArgv.includes(f));
}

/** How this process stands with those flags, for a benchmark's header line. */
export function nodeFlagsNote(execArgv: readonly string[] = process.execArgv): string {
  const missing = missingNodeFlags(execArgv);
  return missing.length === 0
    ? `node ${LOCAL_CLOUD_NODE_FLAGS.join(' ')}`
    : `node without ${missing.join(' ')} (npm run passes it; the README's figures are with it)`;
}
