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
 * Only the collector's schedule changes, not what any program sees.
 */
export const LOCAL_CLOUD_NODE_FLAGS = ['--no-concurrent-marking'] as const;

/** How this process stands with those flags, for a benchmark's header line. */
export function nodeFlagsNote(execArgv: readonly string[] = process.execArgv): string {
  const missing = LOCAL_CLOUD_NODE_FLAGS.filter((f) => !execArgv.includes(f));
  return missing.length === 0
    ? `node ${LOCAL_CLOUD_NODE_FLAGS.join(' ')}`
    : `node without ${missing.join(' ')} (npm run passes it; the README's figures are with it)`;
}
