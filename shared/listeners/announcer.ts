/**
 * How the places where events happen reach the listeners: as one more associated task of the
 * committer, and as an event bus the delete path and the rebuilder publish to beside the vault
 * events topic.
 */
import {
  type AssociatedTask,
  committedEvent,
  type EventBus,
  type ObjectEvent,
} from '../store/index.ts';
import { type FanOutDeps, fanOut } from './fan-out.ts';

/** The committer's task that announces a committed revision to its key's listeners. */
export function listenerTask(deps: FanOutDeps): AssociatedTask {
  return async (record) => {
    await fanOut(deps, committedEvent(record, deps.clock.date()));
  };
}

/** An event bus that announces every event it is given to the key's listeners. */
export function listenerBus(deps: FanOutDeps): EventBus {
  return {
    publish: async (event: ObjectEvent) => {
      await fanOut(deps, event);
    },
  };
}

/** An event bus publishing to each of `buses` in turn (each at least once, as EventBus says). */
export function everyBus(...buses: EventBus[]): EventBus {
  return {
    publish: async (event) => {
      for (const bus of buses) await bus.publish(event);
    },
  };
}
