import { memorySharedBacklog } from '../../src/shared/memorySharedBacklog.js';
import { sharedStoreContract } from './contract.js';

sharedStoreContract('memory', async () => {
  let now = 1_000_000;
  const store = memorySharedBacklog({ now: () => now });
  return {
    store,
    advance: async (ms: number) => {
      now += ms;
    },
    cleanup: async () => {},
  };
});
