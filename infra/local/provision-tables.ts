/**
 * The local cloud's DynamoDB tables, provisioned as CloudFormation provisions them: created from
 * their `AWS::DynamoDB::Table` properties when missing, and provisioned once ACTIVE.
 */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';

function tableInput(name: string, props: Record<string, unknown>): CreateTableCommandInput {
  const input: CreateTableCommandInput = {
    TableName: name,
    AttributeDefinitions:
      props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
  };
  const onDemand = props.BillingMode === 'PAY_PER_REQUEST';
  input.BillingMode = onDemand ? 'PAY_PER_REQUEST' : 'PROVISIONED';
  const throughput =
    (props.ProvisionedThroughput as CreateTableCommandInput['ProvisionedThroughput']) ?? {
      ReadCapacityUnits: 5,
      WriteCapacityUnits: 5,
    };
  if (!onDemand) input.ProvisionedThroughput = throughput;
  type Gsi = NonNullable<CreateTableCommandInput['GlobalSecondaryIndexes']>[number];
  const gsis = props.GlobalSecondaryIndexes as Gsi[] | undefined;
  if (gsis?.length) {
    input.GlobalSecondaryIndexes = gsis.map((g) => ({
      IndexName: g.IndexName,
      KeySchema: g.KeySchema,
      Projection: g.Projection,
      ...(onDemand ? {} : { ProvisionedThroughput: g.ProvisionedThroughput ?? throughput }),
    }));
  }
  const lsis = props.LocalSecondaryIndexes as CreateTableCommandInput['LocalSecondaryIndexes'];
  if (lsis?.length) input.LocalSecondaryIndexes = lsis;
  return input;
}

/**
 * Creates the table when it does not exist; one that exists is left as it is (the local cloud
 * does not migrate tables), with a warning when its declaration changed. Returns whether it
 * created it.
 */
export async function ensureTable(
  dynamodb: DynamoDBClient,
  name: string,
  props: Record<string, unknown>,
  changed: boolean,
  warn: (msg: string) => void,
): Promise<boolean> {
  try {
    await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    if (changed) {
      warn(
        `table ${name} changed in serverless.yml; the local cloud does not migrate tables (delete its data directory to recreate it)`,
      );
    }
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    await dynamodb.send(new CreateTableCommand(tableInput(name, props)));
    return true;
  }
  return false;
}

/**
 * Waits until every table in `names` is ACTIVE, as a stack's tables are once it completes: one
 * still CREATING answers its first requests ResourceNotFoundException (dynalite flips it on a
 * timer), so nothing may use it before.
 */
export async function awaitTablesActive(
  dynamodb: DynamoDBClient,
  names: readonly string[],
): Promise<void> {
  await Promise.all(
    names.map((TableName) =>
      waitUntilTableExists(
        { client: dynamodb, maxWaitTime: 60, minDelay: 0.05, maxDelay: 1 },
        { TableName },
      ),
    ),
  );
}
