/**
 * The SNS side in memory: the events topic, and the network and status topics. What is
 * published is kept as SNS carries it (JSON: a copy, undefined fields left out) for the test
 * to read.
 */
import {
  type CommitNudge,
  type EventBus,
  type Multicast,
  nudgeMessage,
  type ObjectEvent,
  type StatusMessage,
  type UnitMessage,
  type UnitStatus,
} from '../../../shared/store/index.ts';
import { document } from './documents.ts';

export class MemoryEventBus implements EventBus {
  /** Every event published, in order. */
  readonly events: ObjectEvent[] = [];

  async publish(event: ObjectEvent): Promise<void> {
    this.events.push(document(event));
  }
}

export class MemoryMulticast implements Multicast {
  /** Unit messages the network topic carried, one per segment, with the address they went to. */
  readonly messages: Array<{ address: string; message: UnitMessage }> = [];
  /** Status messages the status topic carried: one per `statuses` call. */
  readonly statusMessages: Array<{ address: string; message: StatusMessage }> = [];

  async send(address: string, messages: UnitMessage[]): Promise<void> {
    for (const message of messages) this.messages.push({ address, message: document(message) });
  }

  async statuses(address: string, statuses: UnitStatus[]): Promise<void> {
    this.statusMessages.push({ address, message: document({ v: 1, statuses }) });
  }

  /** Nudges the status topic carried, with the address they went to. */
  readonly nudges: Array<{ address: string; message: CommitNudge }> = [];

  async nudge(address: string, revision: string): Promise<void> {
    this.nudges.push({ address, message: document(nudgeMessage(revision)) });
  }
}
