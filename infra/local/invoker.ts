/**
 * Runs the service's Lambda handlers locally: invocations by key, deployed name or ARN, each to
 * its function's pool of execution environments (function-pool.ts), and the fault injection
 * tests use (slow starts, changed environments).
 */
import {
  FunctionPool,
  type InvokerOptions,
  LambdaInvocationError,
  type ResponseSink,
} from './function-pool.ts';
import type { ServiceFunction } from './service.ts';

export {
  BACKGROUND_NICE,
  type InvokerOptions,
  LambdaInvocationError,
  type ResponseSink,
} from './function-pool.ts';

/** Invokes functions by key, deployed name or ARN. */
export class Invoker {
  private readonly pools = new Map<string, FunctionPool>();
  /** Fault injection: invocations of these functions (by key) start this many ms late. */
  private readonly delays = new Map<string, { ms: number; per: 'invocation' | 'record' }>();

  constructor(functions: ServiceFunction[], opts: InvokerOptions) {
    for (const fn of functions) {
      const pool = new FunctionPool(fn, opts);
      this.pools.set(fn.key, pool);
      this.pools.set(fn.name, pool);
      this.pools.set(pool.arn, pool);
    }
  }

  has(nameOrArn: string): boolean {
    return this.pools.has(this.normalize(nameOrArn));
  }

  private normalize(nameOrArn: string): string {
    // arn:aws:lambda:region:account:function:name[:qualifier]
    const m = /^arn:aws:lambda:[^:]+:[^:]+:function:([^:]+)(:[^:]+)?$/.exec(nameOrArn);
    return m ? (m[1] as string) : nameOrArn;
  }

  /**
   * Runs the function once with `event` and resolves with what the handler returned.
   * @throws LambdaInvocationError when the handler throws, times out or fails to load.
   */
  invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    const pool = this.pools.get(this.normalize(nameOrArn));
    if (!pool) {
      return Promise.reject(
        new LambdaInvocationError(
          nameOrArn,
          'ResourceNotFoundException',
          `Function not found: ${nameOrArn}`,
        ),
      );
    }
    const delay = this.delays.get(pool.fn.key);
    if (delay === undefined) return pool.invoke(event);
    const records = (event as { Records?: unknown })?.Records;
    const times = delay.per === 'record' && Array.isArray(records) ? records.length : 1;
    return new Promise((resolve) => setTimeout(resolve, delay.ms * times)).then(() =>
      pool.invoke(event),
    );
  }

  /**
   * Fault injection for tests: every invocation of the function starts `delayMs` late, as a
   * slow or overloaded host would (undefined clears it). `per: 'record'` makes it `delayMs` for
   * each record of an event source's batch, as a host slow at each item it handles would be.
   */
  slow(
    nameOrArn: string,
    delayMs: number | undefined,
    per: 'invocation' | 'record' = 'invocation',
  ): void {
    const pool = this.pools.get(this.normalize(nameOrArn));
    if (!pool) throw new Error(`no function ${nameOrArn}`);
    if (delayMs === undefined) this.delays.delete(pool.fn.key);
    else this.delays.set(pool.fn.key, { ms: delayMs, per });
  }

  /** Changes the function's environment variables (FunctionPool.configure). */
  configure(nameOrArn: string, env: Record<string, string | undefined>): void {
    const pool = this.pools.get(this.normalize(nameOrArn));
    if (!pool) throw new Error(`no function ${nameOrArn}`);
    pool.configure(env);
  }

  /**
   * Runs a response-streaming function (`awslambda.streamifyResponse`) once with `event`: its
   * prelude and body go to `sink` chunk by chunk as the handler writes them, and it resolves
   * once the handler is done and its stream ended.
   * @throws LambdaInvocationError as `invoke` does.
   */
  invokeStreaming(nameOrArn: string, event: unknown, sink: ResponseSink): Promise<unknown> {
    const pool = this.pools.get(this.normalize(nameOrArn));
    if (!pool) {
      return Promise.reject(
        new LambdaInvocationError(
          nameOrArn,
          'ResourceNotFoundException',
          `Function not found: ${nameOrArn}`,
        ),
      );
    }
    return pool.invoke(event, sink);
  }

  private uniquePools(): FunctionPool[] {
    return [...new Set(this.pools.values())];
  }

  /** Invocations in flight, by function key. */
  inFlight(): Record<string, number> {
    return Object.fromEntries(this.uniquePools().map((p) => [p.fn.key, p.inFlight]));
  }

  /** Refuses new invocations: the first step of a stop, before the work in flight is cut. */
  drain(): void {
    for (const pool of this.uniquePools()) pool.drain();
  }

  /** Settles when no invocation is in flight. */
  async settled(): Promise<void> {
    await Promise.all(this.uniquePools().map((p) => p.settled()));
  }

  /**
   * Terminates every execution environment, as Lambda discards a sandbox: a handler in the
   * middle of a minutes-long rebuild step ends now, its invocation failing. Resolves with the
   * invocations so cut short, by function key (none listed when none were).
   */
  async stop(): Promise<Record<string, number>> {
    const pools = this.uniquePools();
    const cut = await Promise.all(pools.map((p) => p.stop()));
    return Object.fromEntries(
      pools.map((p, i) => [p.fn.key, cut[i] as number]).filter(([, n]) => (n as number) > 0),
    );
  }
}
