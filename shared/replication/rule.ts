/** A vault's continuous rule (continuous.ts): its destination, and the standing job its tasks go to. */
import type { Side } from './side.ts';

export interface ReplicationRule {
  vault: string;
  destination: Side;
  jobId: string;
  createdAt: string;
}
