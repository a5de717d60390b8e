/**
 * SubscriptionManager on SNS: a unit's subscription to the network topic filters on the
 * `dsn-address` message attribute, so SNS delivers a unit only what its vaults address.
 */
import {
  ListSubscriptionsByTopicCommand,
  SetSubscriptionAttributesCommand,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { ADDRESS_ATTRIBUTE, type SubscriptionManager } from '../../store/index.ts';

export class SnsSubscriptionManager implements SubscriptionManager {
  private readonly sns: SNSClient;
  private readonly topicArn: string;
  private readonly unitQueueArns: readonly string[];
  private subscriptionArns: Map<string, string> | undefined;

  constructor(sns: SNSClient, topicArn: string, unitQueueArns: readonly string[]) {
    this.sns = sns;
    this.topicArn = topicArn;
    this.unitQueueArns = unitQueueArns;
  }

  private async subscriptionOf(unit: number): Promise<string> {
    const queueArn = this.unitQueueArns[unit];
    if (!queueArn)
      throw new RangeError(`unit ${unit} is not in the pool of ${this.unitQueueArns.length}`);
    if (!this.subscriptionArns?.has(queueArn)) {
      const found = new Map<string, string>();
      let NextToken: string | undefined;
      do {
        const page = await this.sns.send(
          new ListSubscriptionsByTopicCommand({ TopicArn: this.topicArn, NextToken }),
        );
        for (const s of page.Subscriptions ?? []) {
          if (s.Endpoint && s.SubscriptionArn) found.set(s.Endpoint, s.SubscriptionArn);
        }
        NextToken = page.NextToken;
      } while (NextToken);
      this.subscriptionArns = found;
    }
    const arn = this.subscriptionArns.get(queueArn);
    if (!arn)
      throw new Error(`unit ${unit}'s queue ${queueArn} is not subscribed to ${this.topicArn}`);
    return arn;
  }

  async setAddresses(unit: number, addresses: string[]): Promise<void> {
    await this.sns.send(
      new SetSubscriptionAttributesCommand({
        SubscriptionArn: await this.subscriptionOf(unit),
        AttributeName: 'FilterPolicy',
        AttributeValue: JSON.stringify({ [ADDRESS_ATTRIBUTE]: [...addresses].sort() }),
      }),
    );
  }
}
