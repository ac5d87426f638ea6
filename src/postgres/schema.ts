/**
 * The PostgreSQL schema of a shared backlog, version {@link SCHEMA_VERSION}.
 *
 * Tables (in the store's schema, default `xstate_sync_worker`):
 * - `meta (name, value)`: `version` = the schema version below.
 * - `keys`: one row per key ever used: `pending` records, `turn` (its place
 *   in the one rotation: smallest goes next), `not_before` (retry time), and
 *   the lease (`lease_owner`, `lease_token`, `lease_until`, `lease_through` =
 *   the largest seq it was given, for counting lost leases). Every update
 *   changes the indexed `turn` or `pending`, so none is HOT: the table gets
 *   its own, eager autovacuum settings.
 * - `records (seq, key, lost_leases, body)` and `dead (seq, key, body)`:
 *   `body` is the record format of `encodeRecord` (JSON text with `v: 1`).
 *
 * Every operation is one call of a plpgsql function, so one round trip and one
 * transaction. Each takes the time once, `clock_timestamp()` into a variable:
 * a claim's condition on a variable can use the index, an inline call cannot.
 * Appends lock their keys' rows (in key order, so two appends cannot deadlock)
 * before taking seqs: per key, seq order is commit order, and a claim (which
 * locks the key row, skipping locked ones) never sees a later seq before an
 * earlier one of that key.
 */

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = 1;

/** Quotes an SQL identifier (the schema name is the user's). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The statements that create version 1 in schema `s` (already quoted). */
export function createV1(s: string): string[] {
  return [
    `CREATE SEQUENCE ${s}.record_seq`,
    `CREATE SEQUENCE ${s}.turn_seq`,
    `CREATE SEQUENCE ${s}.token_seq`,
    `CREATE TABLE ${s}.keys (
      key text PRIMARY KEY,
      pending integer NOT NULL DEFAULT 0,
      turn bigint NOT NULL,
      not_before timestamptz NOT NULL DEFAULT '-infinity',
      lease_owner text,
      lease_token bigint,
      lease_until timestamptz,
      lease_through bigint
    ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500,
            autovacuum_analyze_scale_factor = 0.05, fillfactor = 70)`,
    `CREATE INDEX keys_rotation ON ${s}.keys (turn) WHERE pending > 0`,
    `CREATE TABLE ${s}.records (
      seq bigint PRIMARY KEY,
      key text NOT NULL,
      lost_leases integer NOT NULL DEFAULT 0,
      body text NOT NULL
    ) WITH (autovacuum_vacuum_scale_factor = 0.02)`,
    `CREATE INDEX records_by_key ON ${s}.records (key, seq)`,
    `CREATE TABLE ${s}.dead (seq bigint PRIMARY KEY, key text NOT NULL, body text NOT NULL)`,
    ...functionsV1(s),
  ];
}

const ms = (t: string): string => `(extract(epoch FROM ${t}) * 1000)::float8`;

function functionsV1(s: string): string[] {
  const fn = (name: string, args: string, returns: string, body: string): string =>
    `CREATE OR REPLACE FUNCTION ${s}.${name}(${args}) RETURNS ${returns}
     LANGUAGE plpgsql AS $fn$
     #variable_conflict use_column
     ${body}
     $fn$`;
  // Locks the key row if the lease is current, and returns false when it is not.
  const current = `SELECT 1 INTO v_ok FROM ${s}.keys k
       WHERE k.key = p_key AND k.lease_token = p_token AND k.lease_until > v_now FOR UPDATE;
       IF NOT FOUND THEN RETURN false; END IF;`;
  // The key's v_n records are gone (delivered or buried); with p_release its lease ends too.
  const settled = `UPDATE ${s}.keys k SET pending = k.pending - v_n,
         lease_owner = CASE WHEN p_release THEN NULL ELSE k.lease_owner END,
         lease_until = CASE WHEN p_release THEN NULL ELSE k.lease_until END
         WHERE k.key = p_key;`;
  return [
    fn(
      'append',
      'p_keys text[], p_bodies text[]',
      'SETOF bigint',
      `BEGIN
       INSERT INTO ${s}.keys AS k (key, pending, turn)
         SELECT t.key, t.n, nextval('${s}.turn_seq')
         FROM (SELECT u AS key, count(*)::int AS n FROM unnest(p_keys) u GROUP BY u ORDER BY u) t
         ON CONFLICT (key) DO UPDATE SET pending = k.pending + EXCLUDED.pending,
           turn = CASE WHEN k.pending = 0 THEN EXCLUDED.turn ELSE k.turn END;
       RETURN QUERY WITH src AS (
           SELECT nextval('${s}.record_seq') AS seq, t.key, t.body, t.i
           FROM unnest(p_keys, p_bodies) WITH ORDINALITY AS t(key, body, i)),
         ins AS (INSERT INTO ${s}.records (seq, key, body) SELECT seq, key, body FROM src)
         SELECT seq FROM src ORDER BY i;
     END`,
    ),
    fn(
      'claim',
      'p_owner text, p_limit int, p_lease_ms float8',
      'TABLE(o_key text, o_token bigint, o_until float8, o_seq bigint, o_lost int, o_body text)',
      `DECLARE v_now timestamptz := clock_timestamp(); v_key ${s}.keys%ROWTYPE;
         v_token bigint; v_until timestamptz; v_through bigint; v_limit int;
       BEGIN
       SELECT * INTO v_key FROM ${s}.keys k
         WHERE k.pending > 0 AND (k.lease_until IS NULL OR k.lease_until <= v_now)
           AND k.not_before <= v_now
         ORDER BY k.turn LIMIT 1 FOR UPDATE SKIP LOCKED;
       IF NOT FOUND THEN RETURN; END IF;
       IF v_key.lease_until IS NOT NULL THEN
         -- The last lease expired with no outcome: its records' runs were lost.
         UPDATE ${s}.records r SET lost_leases = r.lost_leases + 1
           WHERE r.key = v_key.key AND r.seq <= v_key.lease_through;
       END IF;
       v_token := nextval('${s}.token_seq');
       v_until := v_now + p_lease_ms * interval '1 millisecond';
       -- A head that lost a lease runs alone: what follows it is not counted again if it kills its worker.
       SELECT CASE WHEN r.lost_leases > 0 THEN 1 ELSE greatest(1, p_limit) END INTO v_limit
         FROM ${s}.records r WHERE r.key = v_key.key ORDER BY r.seq LIMIT 1;
       SELECT max(h.seq) INTO v_through FROM (SELECT r.seq FROM ${s}.records r
         WHERE r.key = v_key.key ORDER BY r.seq LIMIT v_limit) h;
       UPDATE ${s}.keys k SET lease_owner = p_owner, lease_token = v_token, lease_until = v_until,
         lease_through = v_through, turn = nextval('${s}.turn_seq') WHERE k.key = v_key.key;
       RETURN QUERY SELECT v_key.key, v_token, ${ms('v_until')}, r.seq, r.lost_leases, r.body
         FROM ${s}.records r WHERE r.key = v_key.key AND r.seq <= v_through ORDER BY r.seq;
     END`,
    ),
    fn(
      'due_in_ms',
      '',
      'float8',
      `DECLARE v_now timestamptz := clock_timestamp(); v_at timestamptz;
       BEGIN
       SELECT min(greatest(k.not_before, coalesce(k.lease_until, '-infinity'))) INTO v_at
         FROM ${s}.keys k WHERE k.pending > 0;
       IF v_at IS NULL THEN RETURN NULL; END IF;
       RETURN greatest(0, ${ms('v_at')} - ${ms('v_now')});
     END`,
    ),
    fn(
      'ack',
      'p_key text, p_token bigint, p_seqs bigint[], p_release boolean',
      'boolean',
      `DECLARE v_now timestamptz := clock_timestamp(); v_ok int; v_n int;
       BEGIN
       ${current}
       DELETE FROM ${s}.records r WHERE r.key = p_key AND r.seq = ANY(p_seqs);
       GET DIAGNOSTICS v_n = ROW_COUNT;
       ${settled}
       RETURN true;
     END`,
    ),
    fn(
      'retry',
      'p_key text, p_token bigint, p_seqs bigint[], p_bodies text[], p_delay_ms float8',
      'boolean',
      `DECLARE v_now timestamptz := clock_timestamp(); v_ok int;
       BEGIN
       ${current}
       UPDATE ${s}.records r SET body = t.body FROM unnest(p_seqs, p_bodies) AS t(seq, body)
         WHERE r.key = p_key AND r.seq = t.seq;
       UPDATE ${s}.keys k SET lease_owner = NULL, lease_until = NULL,
         not_before = v_now + p_delay_ms * interval '1 millisecond' WHERE k.key = p_key;
       RETURN true;
     END`,
    ),
    fn(
      'bury',
      'p_key text, p_token bigint, p_seqs bigint[], p_bodies text[], p_release boolean',
      'boolean',
      `DECLARE v_now timestamptz := clock_timestamp(); v_ok int; v_n int;
       BEGIN
       ${current}
       WITH gone AS (DELETE FROM ${s}.records r WHERE r.key = p_key AND r.seq = ANY(p_seqs)
           RETURNING r.seq)
         INSERT INTO ${s}.dead (seq, key, body)
         SELECT t.seq, p_key, t.body FROM unnest(p_seqs, p_bodies) AS t(seq, body)
         WHERE t.seq IN (SELECT seq FROM gone);
       GET DIAGNOSTICS v_n = ROW_COUNT;
       ${settled}
       RETURN true;
     END`,
    ),
    fn(
      'renew',
      'p_key text, p_token bigint, p_lease_ms float8',
      'boolean',
      `DECLARE v_now timestamptz := clock_timestamp();
       BEGIN
       UPDATE ${s}.keys k SET lease_until = v_now + p_lease_ms * interval '1 millisecond'
         WHERE k.key = p_key AND k.lease_token = p_token AND k.lease_until > v_now;
       RETURN FOUND;
     END`,
    ),
    fn(
      'release',
      'p_key text, p_token bigint',
      'boolean',
      `DECLARE v_now timestamptz := clock_timestamp();
       BEGIN
       UPDATE ${s}.keys k SET lease_owner = NULL, lease_until = NULL
         WHERE k.key = p_key AND k.lease_token = p_token AND k.lease_until > v_now;
       RETURN FOUND;
     END`,
    ),
  ];
}
