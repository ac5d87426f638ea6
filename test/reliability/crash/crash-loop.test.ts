/**
 * Crash loop (issue 6, section 3): one lmdb store, many lives. Each life is a
 * child process that opens the store and plays one phase (enqueue with the
 * remote up, an outage with the remote down, or a replay of the backlog),
 * and is killed with SIGKILL at a random point of it: a random delay after it
 * started, right after its k-th `FLUSHED` line, or once its work is done.
 * Then the next life opens the same store (taking over the stale lock).
 * After the loop, a last life enqueues three more rounds over every key,
 * delivers what is left and shuts down.
 *
 * Two variants (issue 12): `concurrency 1` delivers one task at a time, as
 * before; `concurrency > 1` gives each life `concurrency` 2 or 4 and a
 * handler that takes one task a call or is a batch handler (`maxSize` 3 or
 * 8), drawn per life, so a store written under one setting is replayed
 * under another; it ends with two last lives, both at `concurrency` 4, one
 * task a call, then batches of 5 (never killed, so each of them surely has
 * commits landing while its keys run). Each child's handler tracks its runs
 * in flight (from its call until it returns or its signal aborts) and
 * reports a run of a key beside another of that key, or beyond
 * `concurrency`: none may happen, in any life. With `concurrency` > 1 a last
 * life's rounds run several keys at once (checked, so the variant cannot
 * silently stay serial).
 *
 * The remote is a file every life appends its deliveries to. In the end:
 * every task whose `flush()` had resolved is delivered; each key's tasks are
 * first delivered in enqueue order; a task delivered twice is the same line
 * again (same id, key and payload); no id that was never enqueued shows up;
 * and the store is empty, with no dead letters and no lock left. After each
 * kill, the lock holds the dead pid: the next life's start is the check that
 * a stale lock never blocks a restart.
 *
 * Duplicates are counted: after a kill (a delivery whose removal the kill
 * undid: at least once, allowed, same id) and within one life, which must
 * not happen. This loop found a race between replay and a group commit that
 * caused the latter (now fixed; replay-commit-race.test.ts pins it).
 *
 * The default form runs 7 lives; `npm run test:soak` (SOAK=full) runs 50.
 * The schedule comes from a seeded PRNG: a failure names its seed, and
 * `CRASH_SEED=<seed>` replays the same schedule (the kill points themselves
 * still race the child, on purpose).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lmdbBacklog } from '../../../src/lmdb/index.js';
import { mulberry32 } from '../../support/random.js';
import { KEYS, keyOf, type Delivery as Settings } from './protocol.js';

const FULL = process.env.SOAK === 'full';
const LIVES = FULL ? 50 : 7;
/** Ids of life i are t-<i·BLOCK> and up: they continue across lives and never collide. */
const BLOCK = 10_000;
/** A generous bound on one life reaching its kill point (start-up with tsx takes about 1 s). */
const LIFE_LIMIT_MS = 60_000;

const CHILD = fileURLToPath(new URL('./crash-loop-child.ts', import.meta.url));

type Phase = 'enqueue' | 'outage' | 'replay';
type Trigger = 'delay' | 'line' | 'idle';

interface Plan {
  life: number;
  phase: Phase;
  delivery: Settings;
  trigger: Trigger;
  /** `delay`: ms after STARTED (a kill mid-work, or on an idle worker); `idle`: ms after DONE. */
  delayMs: number;
  /** `line`: kill on this FLUSHED line (replay, which has none: on STARTED). */
  line: number;
  rounds: number;
  perRound: number;
}

interface LifeResult {
  plan: Plan;
  pid: number;
  /** Durable tasks the store held when this life opened it. */
  backlogAtStart: number;
  /** Whether DONE had been seen when the kill was sent: the kill landed on an idle worker. */
  killedIdle: boolean;
  /** n of every task this life may have enqueued (from its ROUND lines). */
  announced: [number, number][];
  /** The highest n this life said was flushed, or -1. */
  flushedUpTo: number;
  flushedLines: number;
  /** The pid in worker.lock after the kill: a stale lock, left for the next life to take over. */
  lockPid: number | undefined;
  /** The handler's in-flight reports: runs beside another of their key, or beyond `concurrency`. */
  violations: string[];
  /** The most runs the handler had in flight at once. */
  peak: number;
}

/** The two forms of the loop: how each life delivers, and how the last one does. */
interface Variant {
  name: string;
  /** A life's settings, from the schedule's PRNG (the serial variant draws nothing). */
  delivery(random: () => number): Settings;
  /** The last lives, in order: each enqueues its rounds, drains the store and shuts down. */
  finals: readonly Settings[];
}

const VARIANTS: readonly Variant[] = [
  {
    name: 'concurrency 1',
    delivery: () => ({ concurrency: 1, batch: 0 }),
    finals: [{ concurrency: 1, batch: 0 }],
  },
  {
    name: 'concurrency > 1, with a batch handler in some lives',
    delivery: (random) => {
      const concurrency = random() < 0.5 ? 2 : 4;
      const r = random();
      return { concurrency, batch: r < 1 / 3 ? 0 : r < 2 / 3 ? 3 : 8 };
    },
    finals: [
      { concurrency: 4, batch: 0 },
      { concurrency: 4, batch: 5 },
    ],
  },
];

function plans(seed: number, variant: Variant): Plan[] {
  const random = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  // Every phase gets its share of lives, in a shuffled order.
  const order: Phase[] = ['enqueue', 'outage', 'replay'];
  const phases = Array.from({ length: LIVES }, (_, i) => order[i % 3] as Phase);
  for (let i = phases.length - 1; i > 0; i--) {
    const j = int(0, i);
    [phases[i], phases[j]] = [phases[j] as Phase, phases[i] as Phase];
  }
  return phases.map((phase, life) => {
    const rounds = phase === 'replay' ? 0 : int(4, 15);
    const r = random();
    const trigger: Trigger = r < 0.5 ? 'delay' : r < 0.8 ? 'line' : 'idle';
    return {
      life,
      phase,
      delivery: variant.delivery(random),
      trigger,
      // An enqueue life works for about 50–200 ms after STARTED, an outage or a replay for less.
      delayMs: trigger === 'idle' ? int(0, 20) : int(0, phase === 'enqueue' ? 150 : 80),
      line: rounds === 0 ? 0 : int(1, rounds),
      rounds,
      perRound: int(5, 30),
    };
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readLockPid(store: string): number | undefined {
  const file = join(store, 'worker.lock');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid;
}

/** Spawns a life and calls `onLine` for each line of its stdout; resolves on close with its exit. */
function spawnLife(
  args: readonly string[],
  onLine: (line: string, kill: () => void) => void,
): Promise<{ pid: number; code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const kill = () => child.kill('SIGKILL');
    const limit = setTimeout(() => {
      kill();
      reject(
        new Error(
          `life ${args.join(' ')} neither ended nor reached its kill point in ${LIFE_LIMIT_MS} ms`,
        ),
      );
    }, LIFE_LIMIT_MS);
    let stderr = '';
    let pending = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        onLine(line, kill);
      }
    });
    child.on('error', reject);
    // 'close': stdout is read to the end, so every line written before the kill is seen.
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ pid: child.pid ?? -1, code, signal, stderr });
    });
  });
}

/** Runs one life by its plan and kills it with SIGKILL at the planned point. */
async function live(store: string, log: string, plan: Plan): Promise<LifeResult> {
  const result: LifeResult = {
    plan,
    pid: -1,
    backlogAtStart: 0,
    killedIdle: false,
    announced: [],
    flushedUpTo: -1,
    flushedLines: 0,
    lockPid: undefined,
    violations: [],
    peak: 0,
  };
  let killed = false;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const args = [
    store,
    log,
    plan.phase,
    String(plan.life),
    String(plan.life * BLOCK),
    String(plan.rounds),
    String(plan.perRound),
    String(plan.delivery.concurrency),
    String(plan.delivery.batch),
  ];
  const exit = await spawnLife(args, (line, kill) => {
    if (inFlightLine(line, result)) return;
    const killNow = () => {
      if (killed) return;
      killed = true;
      result.killedIdle = done;
      kill();
    };
    const [word, a, b, c] = line.split(' ');
    if (word === 'STARTED') {
      result.pid = Number(b);
      result.backlogAtStart = Number(c);
      if (plan.trigger === 'delay') timer = setTimeout(killNow, plan.delayMs);
      if (plan.trigger === 'line' && plan.line === 0) killNow();
    } else if (word === 'ROUND') {
      result.announced.push([Number(a), Number(b)]);
    } else if (word === 'FLUSHED') {
      // Read after the kill too: the child may have flushed more before the signal landed.
      result.flushedUpTo = Number(a);
      result.flushedLines++;
      if (plan.trigger === 'line' && result.flushedLines === plan.line) killNow();
    } else if (word === 'DONE') {
      done = true;
      if (plan.trigger === 'idle') timer = setTimeout(killNow, plan.delayMs);
    }
  });
  clearTimeout(timer);
  if (!killed || exit.signal !== 'SIGKILL') {
    throw new Error(
      `life ${plan.life} (${plan.phase}) ended on its own (code ${exit.code}, signal ${exit.signal}):\n${exit.stderr}`,
    );
  }
  expect(result.pid, `life ${plan.life} never opened the store:\n${exit.stderr}`).toBe(exit.pid);
  result.lockPid = readLockPid(store);
  return result;
}

/** Takes an in-flight report of the child's handler into `result`; returns whether it was one. */
function inFlightLine(line: string, result: { violations: string[]; peak: number }): boolean {
  const [word, a] = line.split(' ');
  if (word === 'PEAK') result.peak = Math.max(result.peak, Number(a));
  else if (word === 'OVERLAP' || word === 'OVER') result.violations.push(line);
  else return false;
  return true;
}

interface Delivery {
  id: string;
  key: string;
  n: number;
  life: number;
}

function parseLog(text: string): { deliveries: Delivery[]; malformed: string[] } {
  const deliveries: Delivery[] = [];
  const malformed: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [id = '', key = '', n, life] = line.split(' ');
    if (!/^\d+$/.test(n ?? '') || !/^\d+$/.test(life ?? '')) malformed.push(line);
    else deliveries.push({ id, key, n: Number(n), life: Number(life) });
  }
  return { deliveries, malformed };
}

function tally<T extends string>(items: readonly T[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

/** Rounds of a last life, and their size: each task key in turn, so every key has several. */
const FINAL_ROUNDS = 3;
const FINAL_ROUND = 4 * KEYS;

/** What a last life did: its tasks, its handler's in-flight reports, its stats. */
interface FinalResult {
  life: number;
  delivery: Settings;
  announced: [number, number][];
  flushedUpTo: number;
  violations: string[];
  peak: number;
  stats: { backlog: number; deadLettered: number };
  exit: { code: number | null; stderr: string };
}

/** Runs a last life: it enqueues its rounds, delivers everything, shuts down and exits. */
async function finalLife(
  store: string,
  log: string,
  life: number,
  delivery: Settings,
): Promise<FinalResult> {
  const result: FinalResult = {
    life,
    delivery,
    announced: [],
    flushedUpTo: -1,
    violations: [],
    peak: 0,
    stats: { backlog: -1, deadLettered: -1 },
    exit: { code: null, stderr: '' },
  };
  const args = [store, log, 'final', String(life), String(life * BLOCK), String(FINAL_ROUNDS)];
  args.push(String(FINAL_ROUND), String(delivery.concurrency), String(delivery.batch));
  const exit = await spawnLife(args, (line) => {
    const [word, a, b] = line.split(' ');
    if (inFlightLine(line, result)) return;
    if (word === 'ROUND') result.announced.push([Number(a), Number(b)]);
    if (word === 'FLUSHED') result.flushedUpTo = Number(a);
    if (line.startsWith('{')) result.stats = JSON.parse(line) as FinalResult['stats'];
  });
  result.exit = exit;
  return result;
}

/** A last life ended on its own, having delivered everything it had and flushed its rounds. */
function checkFinal(f: FinalResult): void {
  expect(f.exit.code, `the last life ${f.life} failed:\n${f.exit.stderr}`).toBe(0);
  expect(f.stats, `the last life ${f.life}'s stats`).toMatchObject({
    backlog: 0,
    deadLettered: 0,
  });
  expect(f.flushedUpTo, `the last life ${f.life} flushed its rounds`).toBe(
    f.life * BLOCK + FINAL_ROUNDS * FINAL_ROUND - 1,
  );
}

describe.each(VARIANTS)(
  'crash loop, $name: SIGKILL during enqueue, outage or replay, then restart',
  (variant) => {
    it(
      `${LIVES} lives killed at random points: every flushed task delivered, per key in order and one run at a time, duplicates only by id`,
      async () => {
        const seed =
          process.env.CRASH_SEED === undefined
            ? Date.now() % 2 ** 31
            : Number(process.env.CRASH_SEED);
        const dir = mkdtempSync(join(tmpdir(), 'xsw-crash-loop-'));
        const store = join(dir, 'store');
        const log = join(dir, 'remote.log');
        const started = performance.now();
        try {
          const lives: LifeResult[] = [];
          for (const plan of plans(seed, variant)) {
            const result = await live(store, log, plan);
            if (process.env.CRASH_KEEP !== undefined) console.log(JSON.stringify(result));
            // SIGKILL leaves the lock behind with the dead pid; the next life must take it over.
            expect(result.lockPid, `life ${plan.life}: the lock after SIGKILL`).toBe(result.pid);
            expect(isAlive(result.pid)).toBe(false);
            lives.push(result);
          }

          // The last lives: the remote is up; each enqueues rounds over every key, delivers
          // what is left and shuts down.
          const finals: FinalResult[] = [];
          for (const delivery of variant.finals) {
            finals.push(await finalLife(store, log, lives.length + finals.length, delivery));
          }

          // At most one run per key, and at most `concurrency`, as every life's handler saw it.
          const violations = [
            ...lives.map((l) => ({ ...l, life: l.plan.life, delivery: l.plan.delivery })),
            ...finals,
          ].flatMap((l) => {
            const peak = l.peak > l.delivery.concurrency ? [`peak ${l.peak}`] : [];
            return [...l.violations, ...peak].map((v) => `life ${l.life}: ${v}`);
          });
          expect(violations, 'runs beside another of their key, or beyond concurrency').toEqual([]);
          for (const f of finals) checkFinal(f);
          // A last life's rounds have tasks on every key at once: with concurrency > 1, several run.
          for (const f of finals) {
            if (f.delivery.concurrency > 1) {
              expect(f.peak, `the last life ${f.life} ran several keys at once`).toBeGreaterThan(1);
            }
          }
          expect(readLockPid(store), 'shutdown releases the lock').toBeUndefined();
          const onDisk = lmdbBacklog({ path: store, readOnly: true });
          onDisk.open({ onCorrupt: () => {}, onWriteError: () => {} });
          const left = onDisk.stats();
          await onDisk.close();
          expect({ pending: left.pending, deadLetters: left.deadLetters }).toEqual({
            pending: 0,
            deadLetters: 0,
          });

          // The remote's view.
          const { deliveries, malformed } = parseLog(readFileSync(log, 'utf8'));
          expect(malformed, 'malformed lines in the remote log').toEqual([]);
          const announced = new Set<number>();
          for (const life of [...lives, ...finals]) {
            for (const [from, to] of life.announced)
              for (let n = from; n <= to; n++) announced.add(n);
          }
          const unknown = deliveries.filter(
            (d) => d.id !== `t-${d.n}` || d.key !== keyOf(d.n) || !announced.has(d.n),
          );
          expect(unknown, 'deliveries of ids never enqueued').toEqual([]);

          const delivered = new Set(deliveries.map((d) => d.id));
          const lost: string[] = [];
          for (const life of lives) {
            for (let n = life.plan.life * BLOCK; n <= life.flushedUpTo; n++) {
              if (!delivered.has(`t-${n}`)) lost.push(`t-${n}`);
            }
          }
          for (const f of finals) {
            for (let n = f.life * BLOCK; n <= f.flushedUpTo; n++) {
              if (!delivered.has(`t-${n}`)) lost.push(`t-${n}`);
            }
          }
          expect(lost, 'flushed tasks never delivered').toEqual([]);

          // Across lives: each key's first deliveries are in enqueue order. A duplicate is the
          // same line again (same id, key and n: checked above), counted by where it happened.
          const firstLife = new Map<string, number>();
          const lastFirst = new Map<string, number>();
          const outOfOrder: string[] = [];
          let afterKill = 0;
          let withinLife = 0;
          for (const d of deliveries) {
            const life = firstLife.get(d.id);
            if (life !== undefined) {
              if (life === d.life) withinLife++;
              else afterKill++;
              continue;
            }
            firstLife.set(d.id, d.life);
            const previous = lastFirst.get(d.key) ?? -1;
            if (d.n < previous) outOfOrder.push(`${d.id} first delivered after t-${previous}`);
            lastFirst.set(d.key, d.n);
          }
          expect(outOfOrder, 'first deliveries out of enqueue order').toEqual([]);
          expect(withinLife, 'deliveries repeated within one life (no crash between)').toBe(0);

          const flushed = lives.reduce(
            (sum, l) => sum + Math.max(0, l.flushedUpTo - l.plan.life * BLOCK + 1),
            0,
          );
          console.log(
            JSON.stringify({
              variant: variant.name,
              seed,
              lives: lives.length,
              delivery: tally(
                lives.map((l) => `c${l.plan.delivery.concurrency}/b${l.plan.delivery.batch}`),
              ),
              peaks: [...lives, ...finals].map((l) => l.peak),
              elapsedMs: Math.round(performance.now() - started),
              kills: tally(lives.map((l) => `${l.plan.phase}/${l.plan.trigger}`)),
              killedWhile: tally(
                lives.map((l) => `${l.plan.phase}/${l.killedIdle ? 'idle' : 'working'}`),
              ),
              replayBacklogs: lives
                .filter((l) => l.plan.phase === 'replay')
                .map((l) => l.backlogAtStart),
              enqueued: announced.size,
              flushed,
              delivered: delivered.size,
              deliveries: deliveries.length,
              duplicates: { afterKill, withinLife },
            }),
          );
        } catch (error) {
          if (error instanceof Error)
            error.message += `\n(crash loop seed ${seed}: replay with CRASH_SEED=${seed})`;
          throw error;
        } finally {
          // CRASH_KEEP=1 keeps the store and the remote's log for a post-mortem.
          if (process.env.CRASH_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
          else console.log(`crash loop: kept ${dir}`);
        }
      },
      FULL ? 900_000 : 120_000,
    );
  },
);
