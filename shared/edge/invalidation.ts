/**
 * How overwrites and deletes reach the staged copies: the committer's associated task (a new
 * revision of a key unstages the old one's copies) and the delete's event bus.
 */
import type { AssociatedTask, EventBus } from '../store/index.ts';
import { invalidate, type StagingDeps } from './staging.ts';

type InvalidationDeps = Pick<StagingDeps, 'slices' | 'edge' | 'index'>;

/** The committer's task: copies of any other revision of the committed key go. Idempotent. */
export function edgeTask(deps: InvalidationDeps): AssociatedTask {
  return async (record) => {
    await invalidate(deps, record.vault, record.key);
  };
}

/** The delete's bus: every copy of a deleted key goes. Idempotent. */
export function edgeBus(deps: InvalidationDeps): EventBus {
  return {
    async publish(event) {
      if (event.type !== 'object.deleted') return;
      await invalidate(deps, event.vault, event.key);
    },
  };
}
