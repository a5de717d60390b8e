/**
 * The TopologyChanges port in a build without topology proposals: every change is refused with
 * a 501 that says so. The topology system's proposals replace it where they exist.
 */
import { TopologyChangesUnavailableError } from '../../errors.ts';
import type { TopologyChange, TopologyChanges } from '../../topology/index.ts';

const nameOf = (change: TopologyChange) =>
  'replace' in change ? 'unit.replace' : 'drain' in change ? 'unit.drain' : 'vault.restripe';

export const unavailableTopologyChanges: TopologyChanges = {
  propose: async (_vault, change) => {
    throw new TopologyChangesUnavailableError(nameOf(change));
  },
};
