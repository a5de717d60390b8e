/** Multicast on SNS: the network topic carries slices to units, the status topic carries answers. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ADDRESS_ATTRIBUTE, type UnitMessage } from '../multicast.ts';
import type { Multicast } from '../ports.ts';
import type { UnitStatus } from '../revision.ts';

export class SnsMulticast implements Multicast {
  private readonly sns: SNSClient;
  private readonly networkTopicArn: string;
  private readonly statusTopicArn: string;

  constructor(sns: SNSClient, networkTopicArn: string, statusTopicArn: string) {
    this.sns = sns;
    this.networkTopicArn = networkTopicArn;
    this.statusTopicArn = statusTopicArn;
  }

  private async publish(topicArn: string, address: string, body: unknown): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify(body),
        MessageAttributes: { [ADDRESS_ATTRIBUTE]: { DataType: 'String', StringValue: address } },
      }),
    );
  }

  send(address: string, message: UnitMessage): Promise<void> {
    return this.publish(this.networkTopicArn, address, message);
  }

  status(address: string, status: UnitStatus): Promise<void> {
    return this.publish(this.statusTopicArn, address, status);
  }
}
