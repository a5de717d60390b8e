/** Health probes against the deployment's AWS resources (see shared/health.ts). */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand } from '@aws-sdk/client-sns';
import type { DsnConfig } from '../config.ts';
import type { Probe } from '../health.ts';
import type { AwsClients } from './clients.ts';

/** `unitS3[i]` reaches unit i's bucket (its region's client). */
export function deploymentProbes(
  config: Pick<
    DsnConfig,
    'vaultsTable' | 'networkTopicArn' | 'statusTopicArn' | 'eventsTopicArn' | 'unitBuckets'
  >,
  clients: AwsClients,
  unitS3: readonly S3Client[],
): Probe[] {
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
        await (unitS3[i] ?? clients.s3).send(new HeadBucketCommand({ Bucket }));
      },
    })),
  ];
}
