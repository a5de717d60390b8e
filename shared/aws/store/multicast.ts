/** Multicast on SNS: the network topic carries slices to units, the status topic carries answers. */
import {
  type MessageAttributeValue,
  PublishBatchCommand,
  PublishCommand,
  type SNSClient,
} from '@aws-sdk/client-sns';
import {
  ADDRESS_ATTRIBUTE,
  type Multicast,
  nudgeMessage,
  type StatusMessage,
  TARGETS_ATTRIBUTE,
  targetsOf,
  type UnitMessage,
  type UnitStatus,
} from '../../store/index.ts';

/** SNS PublishBatch: at most 10 entries, and 256 KiB for all of them together. */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 256 * 1024;

/** What SNS counts of a message's attributes toward its size: names, types and values. */
function attributeBytes(attributes: Record<string, MessageAttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes))
    bytes +=
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? '') +
      Buffer.byteLength(value.StringValue ?? '');
  return bytes;
}

export class SnsMulticast implements Multicast {
  private readonly sns: SNSClient;
  private readonly networkTopicArn: string;
  private readonly statusTopicArn: string;

  constructor(sns: SNSClient, networkTopicArn: string, statusTopicArn: string) {
    this.sns = sns;
    this.networkTopicArn = networkTopicArn;
    this.statusTopicArn = statusTopicArn;
  }

  /** The vault's address, and for the network the units the message is for (SNS filters on it). */
  private attributes(address: string, targets?: string[]): Record<string, MessageAttributeValue> {
    const attributes: Record<string, MessageAttributeValue> = {
      [ADDRESS_ATTRIBUTE]: { DataType: 'String', StringValue: address },
    };
    if (targets)
      attributes[TARGETS_ATTRIBUTE] = {
        DataType: 'String.Array',
        StringValue: JSON.stringify(targets),
      };
    return attributes;
  }

  private async publish(
    topicArn: string,
    body: unknown,
    attributes: Record<string, MessageAttributeValue>,
  ): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify(body),
        MessageAttributes: attributes,
      }),
    );
  }

  private async publishBatch(
    topicArn: string,
    entries: Array<{ body: string; attributes: Record<string, MessageAttributeValue> }>,
  ) {
    const out = await this.sns.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: entries.map((e, i) => ({
          Id: `m${i}`,
          Message: e.body,
          MessageAttributes: e.attributes,
        })),
      }),
    );
    const failed = out.Failed ?? [];
    if (failed.length > 0) {
      throw new Error(
        `SNS refused ${failed.length} of ${entries.length} messages, first: ${failed[0]?.Code} ${failed[0]?.Message}`,
      );
    }
  }

  async send(address: string, messages: UnitMessage[]): Promise<void> {
    const entries = messages.map((message) => ({
      body: JSON.stringify(message),
      attributes: this.attributes(address, targetsOf(message)),
    }));
    if (entries.length === 1) {
      const [only] = entries as [(typeof entries)[number]];
      await this.sns.send(
        new PublishCommand({
          TopicArn: this.networkTopicArn,
          Message: only.body,
          MessageAttributes: only.attributes,
        }),
      );
      return;
    }
    // Each message stays its own (one per segment); batching only saves calls.
    let batch: typeof entries = [];
    let bytes = 0;
    const sends: Promise<void>[] = [];
    for (const entry of entries) {
      const size = Buffer.byteLength(entry.body) + attributeBytes(entry.attributes);
      if (batch.length === BATCH_ENTRIES || (batch.length > 0 && bytes + size > BATCH_BYTES)) {
        sends.push(this.publishBatch(this.networkTopicArn, batch));
        batch = [];
        bytes = 0;
      }
      batch.push(entry);
      bytes += size;
    }
    if (batch.length > 0) sends.push(this.publishBatch(this.networkTopicArn, batch));
    await Promise.all(sends);
  }

  statuses(address: string, statuses: UnitStatus[]): Promise<void> {
    const message: StatusMessage = { v: 1, statuses };
    return this.publish(this.statusTopicArn, message, this.attributes(address));
  }

  nudge(address: string, revision: string): Promise<void> {
    return this.publish(this.statusTopicArn, nudgeMessage(revision), this.attributes(address));
  }
}
