/** Proposals to the units, over the network topic each unit's queue is subscribed to. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ADDRESS_ATTRIBUTE, TARGETS_ATTRIBUTE } from '../../store/index.ts';
import type { ProposalBroadcast, ProposalMessage } from '../../topology/index.ts';

export class SnsProposalBroadcast implements ProposalBroadcast {
  private readonly sns: SNSClient;
  private readonly topicArn: string;

  constructor(sns: SNSClient, networkTopicArn: string) {
    this.sns = sns;
    this.topicArn = networkTopicArn;
  }

  async send(message: ProposalMessage, units: number[]): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Message: JSON.stringify(message),
        MessageAttributes: {
          [ADDRESS_ATTRIBUTE]: { DataType: 'String', StringValue: message.address },
          // Each unit's subscription filters on its own address: one publish reaches the voters.
          [TARGETS_ATTRIBUTE]: {
            DataType: 'String.Array',
            StringValue: JSON.stringify(units.map((u) => `unit/${u}`)),
          },
        },
      }),
    );
  }
}
