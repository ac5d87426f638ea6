/**
 * The PostgreSQL server of the tests: its URL comes from `XSW_POSTGRES_URL`
 * (`.ci/run` starts one and exports it). Without it the tests that need a
 * server are skipped, saying so; under `CI` they fail instead, since CI must
 * run them.
 */
import pg from 'pg';

/** The server's URL, when one is given. */
export const POSTGRES_URL = process.env.XSW_POSTGRES_URL;
/** Whether the PostgreSQL tests skip: no URL, and not under CI. */
export const skipPostgres = POSTGRES_URL === undefined && !process.env.CI;

if (skipPostgres) {
  console.info('skipping the PostgreSQL tests: set XSW_POSTGRES_URL=postgres://… to run them');
}

/** The URL, or the failure CI reports when it has none. */
export function postgresUrl(): string {
  if (POSTGRES_URL === undefined) {
    throw new Error('CI runs the PostgreSQL tests, but XSW_POSTGRES_URL is not set');
  }
  return POSTGRES_URL;
}

let made = 0;
/** A schema name no other test (or process) uses. */
export function freshSchema(): string {
  made++;
  return `xsw_test_${process.pid}_${made}_${Math.floor(Math.random() * 1e6)}`;
}

/** Drops a test's schema with everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
