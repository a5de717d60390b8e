/** EventBus on SNS: the vault events topic users subscribe their own queues to. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { EventBus, ObjectEvent } from '../../store/index.ts';

export class SnsEventBus implements EventBus {
  private readonly sns: SNSClient;
  private readonly topicArn: string;

  constructor(sns: SNSClient, topicArn: string) {
    this.sns = sns;
    this.topicArn = topicArn;
  }

  async publish(event: ObjectEvent): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Message: JSON.stringify(event),
        // Attributes let subscribers filter by type or vault without parsing bodies.
        MessageAttributes: {
          type: { DataType: 'String', StringValue: event.type },
          vault: { DataType: 'String', StringValue: event.vault },
        },
      }),
    );
  }
}
