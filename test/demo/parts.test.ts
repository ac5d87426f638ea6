import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { turnsOf } from '../../examples/demo/listing.js';
import { leafStateIds } from '../../examples/demo/observe.js';
import { parseOptions, resumedReportPath, UsageError } from '../../examples/demo/options.js';
import { planConversations, sessionName, turnId } from '../../examples/demo/producer.js';
import {
  FlushLedger,
  newRunDir,
  reportedOptions,
  writeSettings,
} from '../../examples/demo/runDir.js';
import {
  fitColumns,
  LiveDisplay,
  PlainDisplay,
  renderFrame,
  visibleWidth,
} from '../../examples/demo/status.js';
import {
  BacklogTally,
  describeCalls,
  describeConcurrency,
  timeInBreakerStates,
} from '../../examples/demo/summary.js';
import type { StoredWrite, TimelineSample } from '../../examples/demo/types.js';
import { type Expectation, verifyDelivery } from '../../examples/demo/verify.js';
import { memoryBacklog, SyncWorker } from '../../src/index.js';

const tty = { CI: '' };

/** A terminal of `columns` columns that keeps what is written to it. */
function fakeTerminal(columns: number): { out: NodeJS.WriteStream; writes: string[] } {
  const writes: string[] = [];
  const out = { columns, write: (c: string) => writes.push(c) } as unknown as NodeJS.WriteStream;
  return { out, writes };
}
describe('demo options', () => {
  it('has defaults for a full run and a condensed one', () => {
    const full = parseOptions([], tty);
    expect(full).toMatchObject({ sessions: 20, turns: 50, seed: 7, fast: false, resume: false });
    expect(full.report).toBe(path.resolve('demo-report.html'));
    expect(parseOptions(['--fast'], tty)).toMatchObject({ sessions: 10, turns: 16, fast: true });
  });

  it('serves the live view only when asked (--live)', () => {
    expect(parseOptions([], tty).live).toBe(false);
    expect(parseOptions(['--fast', '--live'], tty)).toMatchObject({ live: true, fast: true });
  });

  it('prints plain lines under CI', () => {
    expect(parseOptions([], { CI: 'true' }).plain).toBe(true);
  });

  it('a resumed run writes its own report, keeping the first run’s', () => {
    const resumed = parseOptions(['--resume', '--backlog', 'x'], tty);
    expect(resumed.report).toBe(path.resolve('demo-report-resumed.html'));
    expect(resumedReportPath('/a/b.html')).toBe('/a/b-resumed.html');
    expect(parseOptions(['--resume', '--backlog', 'x', '--report', 'r.html'], tty).report).toBe(
      path.resolve('r.html'),
    );
  });

  it('points at a real Honcho server with --honcho-url and --honcho-key (or HONCHO_API_KEY)', () => {
    expect(parseOptions([], tty)).toMatchObject({ honchoUrl: undefined, honchoKey: undefined });
    expect(
      parseOptions(['--honcho-url', 'https://api.honcho.dev', '--honcho-key', 'k'], tty),
    ).toMatchObject({ honchoUrl: 'https://api.honcho.dev', honchoKey: 'k' });
    expect(
      parseOptions(['--honcho-url', 'http://127.0.0.1:8000'], { ...tty, HONCHO_API_KEY: 'e' })
        .honchoKey,
    ).toBe('e');
  });

  it.each([
    [['--sessions', '0'], /--sessions must be a whole number from 1 to 1000/],
    [['--turns', '2.5'], /--turns must be a whole number/],
    [['--seed=-1'], /--seed must be a whole number from 0/],
    [['--outage-ms', 'soon'], /--outage-ms must be a number from 0/],
    [
      ['--kill-at', 'lunch', '--backlog', 'x'],
      /--kill-at must be one of healthy, spike, outage, recovery/,
    ],
    [['--kill-at', 'outage'], /--kill-at needs --backlog/],
    [['--resume'], /--resume needs the --backlog/],
    [['--resume', '--kill-at', 'outage', '--backlog', 'x'], /cannot be combined/],
    [['--colour'], /Unknown option '--colour'/],
    [['--honcho-url', 'ftp://x'], /--honcho-url must be an http\(s\) URL/],
    [['--honcho-url', 'nowhere'], /--honcho-url must be an http\(s\) URL/],
    [['--honcho-key', 'k'], /--honcho-key needs --honcho-url/],
  ])('refuses %j with a UsageError', (argv, message) => {
    expect(() => parseOptions(argv, tty)).toThrow(UsageError);
    expect(() => parseOptions(argv, tty)).toThrow(message);
  });
});

describe('the producer’s plan', () => {
  it('plans every turn once, each session in turn order, the same for the same seed', () => {
    const plan = planConversations(3, 4, 1_000, 42);
    expect(plan).toHaveLength(12);
    expect(new Set(plan.map((t) => t.id)).size).toBe(12);
    for (let s = 0; s < 3; s++) {
      const session = sessionName(s, 3);
      const turns = plan.filter((t) => t.payload.session === session).map((t) => t.payload.turn);
      expect(turns).toEqual([0, 1, 2, 3]);
    }
    expect(plan.every((t, i) => i === 0 || (plan[i - 1] as { atMs: number }).atMs <= t.atMs)).toBe(
      true,
    );
    expect(planConversations(3, 4, 1_000, 42)).toEqual(plan);
    expect(planConversations(3, 4, 1_000, 43)).not.toEqual(plan);
  });

  it('names sessions so they sort, and messages after their turn', () => {
    expect(sessionName(3, 20)).toBe('s03');
    expect(turnId('s03', 7)).toBe('s03-t007');
    const [turn] = planConversations(1, 1, 100, 1);
    expect(turn?.payload.messages.map((m) => m.id)).toEqual(['s0-t000-u', 's0-t000-a']);
  });
});

function write(session: string, turn: number): StoredWrite {
  const id = turnId(session, turn);
  return { session, turn, ids: [`${id}-u`, `${id}-a`] };
}

function expecting(required: string[]): Expectation {
  return {
    required: new Set(required),
    isKnown: (session, turn) => ['a', 'b'].includes(session) && turn < 3,
    turnId,
  };
}

describe('the end check', () => {
  const all = ['a-t000', 'a-t001', 'b-t000'];

  it('passes when every turn arrived once, each session in order', () => {
    const verdict = verifyDelivery([write('a', 0), write('b', 0), write('a', 1)], expecting(all));
    expect(verdict).toMatchObject({ ok: true, turns: 3, messages: 6, lost: 0 });
    expect(verdict.lines[0]).toMatch(/all 3 required turns .* exactly once/);
  });

  it('finds a lost turn', () => {
    const verdict = verifyDelivery([write('a', 0), write('b', 0)], expecting(all));
    expect(verdict.ok).toBe(false);
    expect(verdict.lines).toContain('LOST 1 turn(s): a-t001');
  });

  it('finds a duplicate', () => {
    const writes = [write('a', 0), write('a', 1), write('b', 0), write('b', 0)];
    const verdict = verifyDelivery(writes, expecting(all));
    expect(verdict.duplicated).toBe(2);
    expect(verdict.lines.join('\n')).toMatch(/DUPLICATED 2 message\(s\): b-t000-u, b-t000-a/);
  });

  it('finds a session out of order, and a gap', () => {
    const swapped = verifyDelivery([write('a', 1), write('a', 0), write('b', 0)], expecting(all));
    expect(swapped.lines.join('\n')).toMatch(
      /OUT OF ORDER in 1 session\(s\): a: turn 1 arrived when turn 0 was next/,
    );
    const gap = verifyDelivery([write('a', 0), write('a', 2), write('b', 0)], expecting([]));
    expect(gap.reordered).toBe(1);
  });

  it('finds writes the run never produced', () => {
    const verdict = verifyDelivery([write('z', 0)], expecting([]));
    expect(verdict.lines.join('\n')).toMatch(/UNEXPECTED 1 write/);
  });

  it('against real Honcho counts copies instead of failing, and checks order on first copies', () => {
    const counting = { ...expecting(all), duplicates: 'count' as const };
    // A retry after a lost answer: turn 1 stored again after it had landed.
    const writes = [write('a', 0), write('a', 1), write('b', 0), write('a', 1)];
    const verdict = verifyDelivery(writes, counting);
    expect(verdict.ok).toBe(true);
    expect(verdict.duplicated).toBe(2);
    expect(verdict.lines[0]).toMatch(
      /2 message\(s\) stored more than once \(Honcho has no idempotency key\)/,
    );
    expect(verifyDelivery(writes, expecting(all)).ok).toBe(false);
    const lost = verifyDelivery([write('a', 1), write('a', 0), write('b', 0)], counting);
    expect(lost.ok).toBe(false);
    expect(lost.lines.join('\n')).toMatch(/OUT OF ORDER/);
  });

  it('after a kill requires only the flushed turns', () => {
    const verdict = verifyDelivery([write('a', 0)], expecting(['a-t000']));
    expect(verdict.ok).toBe(true);
  });
});

describe('the listing read back as turns', () => {
  const listed = (task: string, turn: number, part: string) => ({
    id: `h-${task}-${part}`,
    metadata: { demo_id: `${task}-${part}`, task_id: task, turn },
  });

  it('groups consecutive messages of one task, and keeps a message without our metadata apart', () => {
    const turns = turnsOf('a', [
      listed('a-t000', 0, 'u'),
      listed('a-t000', 0, 'a'),
      listed('a-t001', 1, 'u'),
      listed('a-t001', 1, 'a'),
      { id: 'foreign', metadata: {} },
      listed('a-t000', 0, 'u'),
    ]);
    expect(turns).toEqual([
      { session: 'a', turn: 0, ids: ['a-t000-u', 'a-t000-a'] },
      { session: 'a', turn: 1, ids: ['a-t001-u', 'a-t001-a'] },
      { session: 'a', turn: -1, ids: ['foreign'] },
      { session: 'a', turn: 0, ids: ['a-t000-u'] },
    ]);
  });
});

describe('the summary’s batch rows', () => {
  it('say how many calls, how full, and how many ran at once', () => {
    const call = (messages: number) => ({
      t: 0,
      durationMs: 1,
      outcome: 'stored' as const,
      messages,
    });
    expect(describeCalls([call(2), call(100), call(6)])).toBe(
      '3 calls, 36.0 messages a call (up to 100)',
    );
    const sample = (running: number) => ({ running }) as TimelineSample;
    expect(describeConcurrency([sample(1), sample(8), sample(3)], 8)).toBe(
      'up to 8 of 8 calls in flight',
    );
  });
});

describe('the summary’s tallies', () => {
  it('counts tasks kept while the breaker was open, and those delivered from the backlog', () => {
    const tally = new BacklogTally();
    tally.accepted('t1', false);
    tally.accepted('t2', false);
    tally.delivered('t1');
    tally.breakerOpened(); // t2 now waits for the remote
    tally.accepted('t3', true);
    tally.delivered('t2');
    tally.delivered('t3');
    tally.delivered('from-an-earlier-life');
    expect({ backlogged: tally.backlogged, replayed: tally.replayed }).toEqual({
      backlogged: 3,
      replayed: 3,
    });
  });

  it('sums the time in each breaker state', () => {
    const spent = timeInBreakerStates(
      [
        { t: 100, actor: 'breaker', from: 'closed', to: 'open' },
        { t: 150, actor: 'worker', from: 'draining', to: 'blocked' },
        { t: 300, actor: 'breaker', from: 'open', to: 'half_open' },
        { t: 310, actor: 'breaker', from: 'half_open', to: 'closed' },
      ],
      1_000,
    );
    expect(Object.fromEntries(spent)).toEqual({ closed: 790, open: 200, half_open: 10 });
  });
});

describe('state ids of a snapshot value', () => {
  it('names the leaves by machine id and path', () => {
    expect(leafStateIds('breaker', 'open')).toEqual(['breaker.open']);
    expect(leafStateIds('worker', { active: { admission: 'open', drain: 'blocked' } })).toEqual([
      'worker.active.admission.open',
      'worker.active.drain.blocked',
    ]);
    expect(leafStateIds('backlog', { open: { writes: 'idle', reads: 'replaying' } })).toEqual([
      'backlog.open.writes.idle',
      'backlog.open.reads.replaying',
    ]);
  });
});

describe('the run directory', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function tempDir(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'demo-parts-'));
    dirs.push(dir);
    return dir;
  }

  it('refuses a directory that holds an earlier run', () => {
    const run = newRunDir(tempDir());
    writeSettings(run, {
      sessions: 1,
      turns: 1,
      seed: 1,
      fast: true,
      outageMs: 0,
      startedAt: '',
      workspaceId: 'w',
    });
    expect(() => newRunDir(run.dir)).toThrow(/holds an earlier run: finish it with --resume/);
  });

  it('names every option of the run with its value in the report’s chips', () => {
    const settings = {
      sessions: 20,
      turns: 50,
      seed: 7,
      fast: false,
      outageMs: undefined,
      startedAt: '',
      workspaceId: 'w',
    };
    expect(reportedOptions(settings, false, undefined)).toEqual({
      sessions: 20,
      turns: 50,
      seed: 7,
      'outage-ms': 12_000,
    });
    expect(reportedOptions({ ...settings, fast: true }, true, 'http://h')).toEqual({
      sessions: 20,
      turns: 50,
      seed: 7,
      'outage-ms': 1_500,
      fast: true,
      resume: true,
      'honcho-url': 'http://h',
    });
  });

  it('the ledger records what each flush made durable, and skips a torn last line', async () => {
    const file = path.join(tempDir(), 'ledger.jsonl');
    const ledger = new FlushLedger(file);
    const worker = new SyncWorker({ backlog: memoryBacklog(), handlers: { write: () => {} } });
    for (const id of ['a', 'b']) {
      worker.enqueue({ handler: 'write', payload: id, id });
      ledger.noteEnqueued(id);
    }
    await ledger.checkpoint(worker);
    worker.enqueue({ handler: 'write', payload: 'c', id: 'c' });
    ledger.noteEnqueued('c');
    await ledger.checkpoint(worker);
    await worker.shutdown();
    expect(readFileSync(file, 'utf8')).toBe('["a","b"]\n["c"]\n');
    writeFileSync(file, '["a","b"]\n["c","d', { flag: 'w' });
    expect(FlushLedger.read(file)).toEqual(new Set(['a', 'b']));
  });
});

describe('plain status lines', () => {
  function capture() {
    const lines: string[] = [];
    const out = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).trimEnd().split('\n'));
        done();
      },
    });
    return { lines, display: new PlainDisplay(out) };
  }

  const sample = (delivered: number): TimelineSample => ({
    t: 1_500,
    phase: 'healthy',
    actors: { breaker: 'closed', worker: 'draining', tracker: 'warming', backlog: 'live' },
    queued: 2,
    backlog: 5,
    timeoutMs: 2_000,
    p95Ms: undefined,
    delivered,
    produced: 10,
  });

  it('print rare state changes with a timestamp, but not the worker’s idle ⇄ draining', () => {
    const { lines, display } = capture();
    display.change({ t: 1_234, actor: 'breaker', from: 'closed', to: 'open' });
    display.change({ t: 1_300, actor: 'worker', from: 'idle', to: 'draining' });
    display.change({ t: 1_400, actor: 'worker', from: 'draining', to: 'blocked' });
    expect(lines).toEqual([
      '  1.23s  breaker closed → open',
      '  1.40s  worker  draining → blocked',
    ]);
  });

  it('print progress at each tenth delivered', () => {
    const { lines, display } = capture();
    const frame = (delivered: number) => ({
      sample: sample(delivered),
      window: undefined,
      total: 10,
      persisting: false,
      duplicates: 0,
      retried: 0,
    });
    for (const delivered of [0, 0, 1, 1, 2]) display.frame(frame(delivered));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      /status {2}delivered 1\/10 {2}queue 2 {2}backlog 5 {2}timeout 2000 ms {2}p95 – {2}breaker closed/,
    );
  });
});

/** ANSI colour codes, built from the escape character's code: a literal one would be a lint error. */
const COLOR_CODES = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

describe('the live status block', () => {
  const frame = {
    sample: {
      t: 12_340,
      phase: 'outage' as const,
      actors: {
        breaker: 'open' as const,
        worker: 'blocked' as const,
        tracker: 'adaptive.tracking',
        backlog: 'replaying',
      },
      queued: 48,
      backlog: 245,
      timeoutMs: 412,
      p95Ms: 206,
      delivered: 455,
      produced: 700,
      running: 8,
    },
    window: {
      name: 'outage' as const,
      startMs: 0,
      endMs: 1,
      latency: { medianMs: 1, sigma: 0 },
      errorRate: 0,
      outage: 'refuse' as const,
    },
    total: 1_000,
    persisting: true,
    duplicates: 3,
    retried: 12,
    concurrency: 8,
  };

  it('fits 80 columns, and a narrower terminal’s width less one', () => {
    const recent = [`  1.00s  breaker ${'x'.repeat(120)}`];
    const lines = renderFrame(frame, recent);
    expect(Math.max(...lines.map(visibleWidth))).toBeLessThanOrEqual(80);
    const { out, writes } = fakeTerminal(40);
    const display = new LiveDisplay(out);
    display.change({ t: 1_000, actor: 'breaker', from: 'closed', to: 'x'.repeat(100) });
    display.frame(frame);
    const drawn = (writes.at(-1) as string).trimEnd().split('\n');
    expect(Math.max(...drawn.map(visibleWidth))).toBeLessThanOrEqual(39);
    expect(fitColumns('\x1b[31mabcdef\x1b[0m', 3)).toBe('\x1b[31mabc\x1b[0m');
  });

  it('moves up over every row the last frame takes after the terminal narrows', () => {
    const { out, writes } = fakeTerminal(100);
    const display = new LiveDisplay(out);
    display.frame(frame);
    const lines = (writes.at(-1) as string).slice(0, -1).split('\n');
    out.columns = 20;
    display.frame(frame);
    const rows = lines.reduce((sum, l) => sum + Math.max(1, Math.ceil(visibleWidth(l) / 20)), 0);
    expect(rows).toBeGreaterThan(lines.length);
    expect(writes.at(-2)).toBe(`\x1b[${rows}F\x1b[0J`);
  });

  it('counts a state left and entered again back to back on one line', () => {
    const { out, writes } = fakeTerminal(80);
    const display = new LiveDisplay(out);
    display.change({ t: 1_000, actor: 'breaker', from: 'closed', to: 'open' });
    for (let i = 0; i < 5; i++) {
      const [from, to] = i % 2 ? ['backoff', 'draining'] : ['draining', 'backoff'];
      display.change({ t: 2_000 + i, actor: 'worker', from, to });
    }
    display.frame(frame);
    const text = (writes.at(-1) as string).replace(COLOR_CODES, '');
    expect(text).toContain('breaker closed → open');
    expect(text).toContain('worker  draining ⇄ backoff (×5)');
    expect(text).not.toContain('draining → backoff');
  });

  it('keeps the worker’s idle ⇄ draining flips out of the last state changes', () => {
    const { out, writes } = fakeTerminal(80);
    const display = new LiveDisplay(out);
    for (let i = 0; i < 10; i++) {
      display.change({
        t: i,
        actor: 'worker',
        from: i % 2 ? 'draining' : 'idle',
        to: i % 2 ? 'idle' : 'draining',
      });
    }
    display.change({ t: 20, actor: 'breaker', from: 'closed', to: 'open' });
    display.frame(frame);
    const text = (writes.at(-1) as string).replace(COLOR_CODES, '');
    expect(text).toContain('breaker closed → open');
    expect(text).not.toContain('idle → draining');
    expect(text).not.toContain('draining → idle');
  });

  it('shows every actor, the queue, the backlog, the timeout, the p95 and progress', () => {
    const text = renderFrame(frame, ['  1.00s  breaker closed → open'])
      .join('\n')
      .replace(COLOR_CODES, '');
    for (const part of [
      'remote: outage: connections refused',
      '12.34s',
      'breaker open',
      'worker  blocked',
      'tracker adaptive.tracking',
      'backlog replaying',
      'writes  persisting',
      'calls   8/8 in flight',
      'queue   48',
      'backlog 245',
      'timeout 412 ms',
      'p95 206 ms',
      '455/1000 turns',
      '409 duplicates 3, retried 12',
      'breaker closed → open',
    ]) {
      expect(text).toContain(part);
    }
  });

  it('redraws in place: each frame first moves up over the lines of the last one', () => {
    const writes: string[] = [];
    const out = { write: (chunk: string) => writes.push(chunk) } as unknown as NodeJS.WriteStream;
    const display = new LiveDisplay(out);
    display.frame(frame);
    const drawn = (writes.at(-1) as string).split('\n').length - 1;
    display.frame(frame);
    expect(writes.at(-2)).toBe(`\x1b[${drawn}F\x1b[0J`);
    display.close();
    display.note('after the end');
    expect(writes.slice(-2)).toEqual(['\x1b[?25h\n', 'after the end\n']);
  });
});
