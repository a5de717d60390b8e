/**
 * The port contracts (test/contracts/) against the memory adapters that unit tests use in place
 * of AWS: a memory adapter that drifts from its contract fails here. The same contracts run
 * against the AWS adapters on the emulators in test/integration/contracts.test.ts.
 */
import { inMemory } from '../contracts/contract.ts';
import { ledgerContract } from '../contracts/ledger.contract.ts';
import { listenerTablesContract, T0 } from '../contracts/listener-tables.contract.ts';
import { objectIndexContract } from '../contracts/object-index.contract.ts';
import { rebuildJobStoreContract } from '../contracts/rebuild-jobs.contract.ts';
import { repairQueueContract } from '../contracts/repair-queue.contract.ts';
import { sliceStoreContract } from '../contracts/slice-store.contract.ts';
import { topologyStoreContract } from '../contracts/topology-store.contract.ts';
import { stagingStoreContract, uploadStoreContract } from '../contracts/uploads.contract.ts';
import { vaultStoreContract } from '../contracts/vault-store.contract.ts';
import { workStoreContract } from '../contracts/work-store.contract.ts';
import {
  MemoryInitiators,
  MemoryLedger,
  MemoryListenerStore,
  MemoryObjectIndex,
  MemoryParticipants,
  MemoryRebuildJobStore,
  MemoryRepairQueue,
  MemorySliceStore,
  MemoryStagingStore,
  MemoryUploadStore,
  MemoryVaultStore,
  MemoryWorkStore,
} from '../helpers/memory/index.ts';
import { MemoryTopologyStore } from '../helpers/memory/topology.ts';

ledgerContract(
  'memory',
  inMemory(() => new MemoryLedger()),
);
objectIndexContract(
  'memory',
  inMemory(() => new MemoryObjectIndex()),
);
sliceStoreContract(
  'memory',
  inMemory(() => new MemorySliceStore(2)),
);
vaultStoreContract(
  'memory',
  inMemory(() => new MemoryVaultStore()),
);
rebuildJobStoreContract(
  'memory',
  inMemory(() => new MemoryRebuildJobStore()),
);
uploadStoreContract(
  'memory',
  inMemory(() => new MemoryUploadStore()),
);
stagingStoreContract(
  'memory',
  inMemory(() => new MemoryStagingStore()),
);
repairQueueContract(
  'memory',
  inMemory(() => new MemoryRepairQueue()),
);
workStoreContract(
  'memory',
  inMemory(() => new MemoryWorkStore()),
);
listenerTablesContract(
  'memory',
  inMemory(() => ({
    participants: new MemoryParticipants(),
    initiators: new MemoryInitiators(),
    listeners: new MemoryListenerStore(() => T0),
  })),
);
topologyStoreContract(
  'memory',
  inMemory(() => {
    const topologies = new MemoryTopologyStore();
    return {
      topologies,
      addVault: async (name: string) => {
        topologies.vaults.set(name, {});
      },
    };
  }),
);
