import type { PoolClient } from 'pg';
import { BacklogError } from '../errors/BacklogError.js';
import { createV1, SCHEMA_VERSION } from './schema.js';

/** An advisory lock id per schema name: 32-bit hash, in the xstate-sync-worker class. */
const LOCK_CLASS = 0x5857; // "XW"

/** The stored schema version, or `undefined` when the schema has no meta table yet. */
async function storedVersion(client: PoolClient, schema: string): Promise<number | undefined> {
  const found = await client
    .query<{ value: string }>(`SELECT value FROM ${schema}.meta WHERE name = 'version'`)
    .catch((error: { code?: string }) => {
      // 42P01 undefined_table, 3F000 invalid_schema_name: nothing created yet.
      if (error.code === '42P01' || error.code === '3F000') return undefined;
      throw error;
    });
  const value = found?.rows[0]?.value;
  return value === undefined ? undefined : Number(value);
}

/**
 * Creates or migrates the schema when it is not at {@link SCHEMA_VERSION}.
 * The work runs in one transaction under a transaction-scoped advisory lock
 * (`pg_advisory_xact_lock`, released by the commit: no session lock, which a
 * connection pooler would break), so instances starting at once are safe:
 * the second waits, then finds the schema made. A version newer than this
 * code knows is refused rather than written with an older format.
 */
export async function migrate(
  client: PoolClient,
  schemaName: string,
  quoted: string,
  location: string,
): Promise<void> {
  const seen = await storedVersion(client, quoted);
  if (seen === SCHEMA_VERSION) return;
  if (seen !== undefined && seen > SCHEMA_VERSION) throw newerSchema(location, schemaName, seen);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, schemaName]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.meta (name text PRIMARY KEY, value text NOT NULL)`,
    );
    const now = await storedVersion(client, quoted);
    if (now !== undefined && now > SCHEMA_VERSION) throw newerSchema(location, schemaName, now);
    if (now === undefined) {
      for (const statement of createV1(quoted)) await client.query(statement);
      await client.query(`INSERT INTO ${quoted}.meta (name, value) VALUES ('version', $1)`, [
        String(SCHEMA_VERSION),
      ]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function newerSchema(location: string, schema: string, version: number): BacklogError {
  return new BacklogError(
    location,
    `backlog ${location}: schema "${schema}" is at version ${version}, newer than this xstate-sync-worker (${SCHEMA_VERSION}): upgrade the package`,
  );
}
