/** The controller's executions on Step Functions (ports.ts `Controller`). */
import {
  DescribeExecutionCommand,
  RedriveExecutionCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Controller } from '../../replication/index.ts';

export class SfnController implements Controller {
  private readonly sfn: SFNClient;
  private readonly stateMachineArn: string;

  constructor(sfn: SFNClient, stateMachineArn: string) {
    this.sfn = sfn;
    this.stateMachineArn = stateMachineArn;
  }

  async start(jobId: string, name: string): Promise<string> {
    const out = await this.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: this.stateMachineArn,
        name,
        input: JSON.stringify({ jobId }),
      }),
    );
    return out.executionArn ?? '';
  }

  async redrive(executionArn: string): Promise<boolean> {
    try {
      await this.sfn.send(new RedriveExecutionCommand({ executionArn }));
      return true;
    } catch (err) {
      if ((err as Error).name === 'ExecutionNotRedrivable') return false;
      throw err;
    }
  }

  async running(executionArn: string): Promise<boolean> {
    try {
      const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return out.status === 'RUNNING';
    } catch (err) {
      // Gone (Step Functions keeps an ended execution 90 days): not running.
      if ((err as Error).name === 'ExecutionDoesNotExist') return false;
      throw err;
    }
  }

  async stop(executionArn: string): Promise<void> {
    await this.sfn.send(
      new StopExecutionCommand({
        executionArn,
        error: 'Cancelled',
        cause: 'the job was cancelled',
      }),
    );
  }
}
