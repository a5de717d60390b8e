/**
 * What every contract shares. A contract is a function that registers `node:test` tests of a
 * port's documented behaviour against any implementation of it, given a factory that builds a
 * fresh, empty one (its own tables, buckets or queues) and a cleanup that removes it. The unit
 * suite runs each contract against the memory adapter, the integration suite against the AWS
 * adapter on the emulators: both must pass the same tests.
 */
import { test } from 'node:test';

export interface PortWorld<P> {
  port: P;
  cleanup(): Promise<void>;
}

export type PortFactory<P> = () => Promise<PortWorld<P>>;

export interface ContractOptions<Gap extends string> {
  /**
   * Behaviours this implementation is known to lack, each with why (an emulator's fidelity
   * gap): their tests still run, as TODO, so a fix shows and a failure does not fail the run.
   */
  gaps?: Partial<Record<Gap, string>>;
}

/** A contract's test: `title` names the behaviour, `body` gets a fresh port. */
export interface PortTest<P, Gap extends string> {
  /** A test that depends on `gap` when named: TODO for an implementation known to lack it. */
  (title: string, body: (port: P) => Promise<void>, gap?: Gap): void;
  /** A behaviour the port documents that every implementation is known to lack yet, and why. */
  todo(title: string, reason: string, body: (port: P) => Promise<void>): void;
}

/**
 * The test function of a contract: each test builds its port with `factory` and cleans it up
 * afterwards, whatever happens.
 */
export function portTest<P, Gap extends string = never>(
  factory: PortFactory<P>,
  options: ContractOptions<Gap> = {},
): PortTest<P, Gap> {
  const register = (title: string, body: (port: P) => Promise<void>, todo?: string) => {
    test(title, todo === undefined ? {} : { todo }, async () => {
      const world = await factory();
      try {
        await body(world.port);
      } finally {
        await world.cleanup();
      }
    });
  };
  const it = (title: string, body: (port: P) => Promise<void>, gap?: Gap) =>
    register(title, body, gap === undefined ? undefined : options.gaps?.[gap]);
  it.todo = (title: string, reason: string, body: (port: P) => Promise<void>) =>
    register(title, body, reason);
  return it;
}

/** A factory for an implementation that needs no cleanup (the memory adapters). */
export function inMemory<P>(create: () => P): PortFactory<P> {
  return async () => ({ port: create(), cleanup: async () => {} });
}
