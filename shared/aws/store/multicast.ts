/** Multicast on SNS: the network topic carries slices to units, the status topic carries answers. */
import { PublishBatchCommand, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  ADDRESS_ATTRIBUTE,
  type Multicast,
  nudgeMessage,
  type StatusMessage,
  type UnitMessage,
  type UnitStatus,
} from '../../store/index.ts';

/** SNS PublishBatch: at most 10 entries, and 256 KiB for all of them together. */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 256 * 1024;

export class SnsMulticast implements Multicast {
  private readonly sns: SNSClient;
  private readonly networkTopicArn: string;
  private readonly statusTopicArn: string;

  constructor(sns: SNSClient, networkTopicArn: string, statusTopicArn: string) {
    this.sns = sns;
    this.networkTopicArn = networkTopicArn;
    this.statusTopicArn = statusTopicArn;
  }

  private attributes(address: string) {
    return { [ADDRESS_ATTRIBUTE]: { DataType: 'String', StringValue: address } };
  }

  private async publish(topicArn: string, address: string, body: unknown): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify(body),
        MessageAttributes: this.attributes(address),
      }),
    );
  }

  private async publishBatch(topicArn: string, address: string, bodies: string[]) {
    const out = await this.sns.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: bodies.map((Message, i) => ({
          Id: `m${i}`,
          Message,
          MessageAttributes: this.attributes(address),
        })),
      }),
    );
    const failed = out.Failed ?? [];
    if (failed.length > 0) {
      throw new Error(
        `SNS refused ${failed.length} of ${bodies.length} messages, first: ${failed[0]?.Code} ${failed[0]?.Message}`,
      );
    }
  }

  async send(address: string, messages: UnitMessage[]): Promise<void> {
    if (messages.length === 1) return this.publish(this.networkTopicArn, address, messages[0]);
    // Each message stays its own (one per segment); batching only saves calls.
    const overhead = ADDRESS_ATTRIBUTE.length + 'String'.length + address.length;
    let batch: string[] = [];
    let bytes = 0;
    const sends: Promise<void>[] = [];
    for (const message of messages) {
      const body = JSON.stringify(message);
      const size = Buffer.byteLength(body) + overhead;
      if (batch.length === BATCH_ENTRIES || (batch.length > 0 && bytes + size > BATCH_BYTES)) {
        sends.push(this.publishBatch(this.networkTopicArn, address, batch));
        batch = [];
        bytes = 0;
      }
      batch.push(body);
      bytes += size;
    }
    if (batch.length > 0) sends.push(this.publishBatch(this.networkTopicArn, address, batch));
    await Promise.all(sends);
  }

  statuses(address: string, statuses: UnitStatus[]): Promise<void> {
    const message: StatusMessage = { v: 1, statuses };
    return this.publish(this.statusTopicArn, address, message);
  }

  nudge(address: string, revision: string): Promise<void> {
    return this.publish(this.statusTopicArn, address, nudgeMessage(revision));
  }
}
