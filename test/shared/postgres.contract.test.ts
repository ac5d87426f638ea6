import { setTimeout as delay } from 'node:timers/promises';
import { postgresBacklog } from '../../src/postgres/index.js';
import { dropSchema, freshSchema, postgresUrl, skipPostgres } from '../support/postgres.js';
import { sharedStoreContract } from './contract.js';

sharedStoreContract(
  'postgres',
  async () => {
    const schema = freshSchema();
    const store = postgresBacklog({ connectionString: postgresUrl(), schema });
    return {
      store,
      // The server's clock is the only one a lease follows: time has to pass for real.
      advance: (ms: number) => delay(ms),
      cleanup: () => dropSchema(schema),
    };
  },
  { skip: skipPostgres },
);
