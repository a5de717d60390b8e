/** Health probes against the deployment's AWS resources (see shared/health.ts). */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand } from '@aws-sdk/client-sns';
import type { DsnConfig } from '../config.ts';
import type { Probe } from '../health.ts';
import type { AwsClients } from './clients.ts';

export function deploymentProbes(config: DsnConfig, clients: AwsClients): Probe[] {
  const topics = [config.networkTopicArn, config.statusTopicArn, config.eventsTopicArn];
  return [
    {
      name: `table:${config.vaultsTable}`,
      run: async () => {
        await clients.dynamodb.send(new DescribeTableCommand({ TableName: config.vaultsTable }));
      },
    },
    ...topics.map((TopicArn) => ({
      name: `topic:${TopicArn.split(':').pop()}`,
      run: async () => {
        await clients.sns.send(new GetTopicAttributesCommand({ TopicArn }));
      },
    })),
    ...config.unitBuckets.map((Bucket, i) => ({
      name: `unit-${i}:${Bucket}`,
      run: async () => {
        await clients.s3.send(new HeadBucketCommand({ Bucket }));
      },
    })),
  ];
}
