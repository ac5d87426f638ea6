/**
 * `npm start`: an application writes every chat turn through Honcho's
 * official SDK to a memory service that speaks Honcho's v3 API (a child
 * process on 127.0.0.1, or a real Honcho server with `--honcho-url`), through
 * xstate-sync-worker, while the service slows down, goes away and comes back.
 * At the end the run reads the service's own listing back: every message
 * exactly once, each session in order.
 *
 * `npm start -- --help` lists the options.
 */
import { writeFileSync } from 'node:fs';
import { type Inspect, SyncWorker } from '../../src/index.js';
import { serveLiveView } from '../../src/live/index.js';
import { lmdbBacklog } from '../../src/lmdb/index.js';
import { countsAgainstBreaker, honchoClient } from './honchoClient.js';
import type { HonchoTarget } from './honchoConnection.js';
import { MAX_MESSAGES_PER_CALL } from './honchoTypes.js';
import { startInspector } from './inspector.js';
import { listStored } from './listing.js';
import { ActorWatch, isPersisting } from './observe.js';
import { type DemoOptions, parseOptions, USAGE, UsageError } from './options.js';
import {
  ADD_MESSAGES,
  type PlannedTurn,
  Producer,
  planConversations,
  sessionName,
  turnId,
} from './producer.js';
import { renderReport } from './report.js';
import {
  cleanUp,
  existingRunDir,
  FlushLedger,
  newRunDir,
  type RunDir,
  type RunSettings,
  reportedOptions,
  writeSettings,
} from './runDir.js';
import { buildScenario, describeScenario, midpointOf, productionMs } from './scenario.js';
import { startServiceProcess } from './serviceProcess.js';
import { type Display, LiveDisplay, PlainDisplay } from './status.js';
import { BacklogTally, formatTable, summarize } from './summary.js';
import type {
  CallSample,
  PhaseWindow,
  RunRecord,
  Scenario,
  StoredWrite,
  TimelineSample,
} from './types.js';
import { verifyDelivery } from './verify.js';

const startedAt = performance.now();
/** ms since this process started the run: the timeline's clock. */
const now = () => performance.now() - startedAt;

/** How a run ends: 0 all delivered exactly once in order; 1 not; 2 bad options. */
type ExitCode = 0 | 1 | 2;

/** Sessions written side by side: calls in flight, never two of one session. */
const CONCURRENCY = 8;
/** Each task is a turn of two messages (the user's and the assistant's): 50 fill Honcho's 100. */
const MESSAGES_PER_TURN = 2;
const BATCH_MAX = MAX_MESSAGES_PER_CALL / MESSAGES_PER_TURN;
/** The latency tracker's ceiling; the SDK's own timeout is set above it. */
const CEILING_MS = 5_000;

/** The resumed run's service: the outage is over, so only the final healthy window. */
function afterTheStorm(scenario: Scenario): Scenario {
  const last = scenario.windows[scenario.windows.length - 1] as PhaseWindow;
  return { ...scenario, windows: [{ ...last, startMs: 0, endMs: Number.POSITIVE_INFINITY }] };
}

/** Everything one run (fresh or resumed) works with. */
interface RunPlan {
  run: RunDir;
  settings: RunSettings;
  scenario: Scenario;
  /** Turns to produce (none when resuming). */
  plan: PlannedTurn[];
  resumed: boolean;
}

function planRun(options: DemoOptions): RunPlan {
  if (options.resume) {
    const { run, settings } = existingRunDir(options.backlog as string);
    const scenario = afterTheStorm(buildScenario(settings));
    return { run, settings, scenario, plan: [], resumed: true };
  }
  const settings: RunSettings = {
    sessions: options.sessions,
    turns: options.turns,
    seed: options.seed,
    fast: options.fast,
    outageMs: options.outageMs,
    startedAt: new Date().toISOString(),
    // A workspace of its own per run: against a real server, earlier runs' sessions stay apart.
    workspaceId: `xsw-demo-${Date.now().toString(36)}`,
    honchoUrl: options.honchoUrl,
  };
  const scenario = buildScenario(settings);
  const run = newRunDir(options.backlog);
  writeSettings(run, settings);
  const plan = planConversations(
    settings.sessions,
    settings.turns,
    productionMs(scenario),
    settings.seed,
  );
  return { run, settings, scenario, plan, resumed: false };
}

/** The worker: the library's real parts, tuned so the story shows in a minute. */
function createWorker(plan: RunPlan, client: ReturnType<typeof honchoClient>, inspect?: Inspect) {
  const fast = plan.settings.fast;
  return new SyncWorker({
    name: 'memory-sync',
    // Small enough that an outage's backlog outgrows memory and is read back from disk (`replaying`).
    maxQueue: fast ? 48 : 128,
    concurrency: CONCURRENCY,
    backlog: lmdbBacklog({ path: plan.run.dir }),
    handlers: { [ADD_MESSAGES]: { batch: { maxSize: BATCH_MAX }, run: client.addMessages } },
    // An answered 4xx is the request's fault, not the remote's: it does not open the breaker.
    countsAsFailure: countsAgainstBreaker,
    breaker: { failureThreshold: 5, probeIntervalMs: fast ? 250 : 2_000 },
    // A low floor, so the adaptive timeout visibly follows the latency.
    latencyTracker: {
      floorMs: 50,
      defaultMs: 2_000,
      ceilingMs: CEILING_MS,
      headroom: 3,
      window: fast ? 30 : 60,
      warmupSamples: 10,
    },
    retry: { maxAttempts: 8, baseMs: fast ? 20 : 100, maxMs: fast ? 250 : 2_000 },
    inspect,
  });
}

class Demo {
  private readonly calls: CallSample[] = [];
  private readonly samples: TimelineSample[] = [];
  private readonly tally = new BacklogTally();
  private readonly ledger: FlushLedger;
  private readonly client = honchoClient({
    target: () => this.target,
    ceilingMs: CEILING_MS,
    now,
    onCall: (call) => this.calls.push(call),
  });
  private target: HonchoTarget = { baseURL: '', workspaceId: '' };
  private window: PhaseWindow | undefined;
  private scenarioOffsetMs = 0;
  private produced = 0;
  private total = 0;
  private delivered = 0;

  constructor(
    private readonly options: DemoOptions,
    private readonly plan: RunPlan,
    private readonly display: Display,
  ) {
    this.ledger = new FlushLedger(plan.run.ledgerFile);
  }

  async run(): Promise<ExitCode> {
    const { plan, display } = this;
    display.note(this.intro());
    const inspector = this.options.inspect ? await startInspector() : undefined;
    if (inspector) {
      display.note(
        `inspector: open ${inspector.url} (its page loads the Stately UI from stately.ai)`,
      );
    }
    const service = await this.startService();
    const worker = createWorker(plan, this.client, inspector?.inspect);
    const live = this.options.live ? await serveLiveView(worker) : undefined;
    if (live) display.note(`live view: open ${live.url} (loopback only, needs no network)`);
    const watch = new ActorWatch(worker, now);
    watch.onChange((change) => display.change(change));
    this.follow(worker);
    this.total = plan.resumed ? worker.stats().backlog : plan.plan.length;
    if (plan.resumed) display.note(`resuming: ${this.total} turns kept in the backlog`);
    this.scheduleKill();
    const sampler = setInterval(() => this.sample(worker, watch), plan.settings.fast ? 40 : 100);
    const checkpoints = setInterval(() => {
      // A refused commit fails its tasks visibly (taskFailed); the next checkpoint tries again.
      this.ledger
        .checkpoint(worker)
        .catch((error: Error) => display.note(`flush: ${error.message}`));
    }, 100);
    try {
      await this.produce(worker);
      await this.drained(worker);
    } finally {
      clearInterval(sampler);
      clearInterval(checkpoints);
    }
    await worker.shutdown({ timeoutMs: 5_000 });
    await live?.close();
    this.sample(worker, watch);
    watch.stop();
    // The end check reads the service's own listing, through the SDK, before it stops.
    const stored = await listStored(this.target, this.sessionNames());
    await service?.stop();
    inspector?.stop();
    display.close();
    return this.finish(worker, watch, stored);
  }

  /** The local service in a child process, or nothing with `--honcho-url` (a real server). */
  private async startService() {
    const { settings, run, scenario } = this.plan;
    const honchoUrl = this.options.honchoUrl ?? settings.honchoUrl;
    if (honchoUrl !== undefined) {
      this.target = {
        baseURL: honchoUrl,
        apiKey: this.options.honchoKey,
        workspaceId: settings.workspaceId,
      };
      this.display.note(
        `writing to the Honcho server at ${honchoUrl}, workspace ${settings.workspaceId}`,
      );
      return undefined;
    }
    const service = await startServiceProcess({ file: run.serviceFile, scenario });
    this.target = { baseURL: service.url, workspaceId: settings.workspaceId };
    this.scenarioOffsetMs = service.scenarioStart - startedAt;
    this.display.note(`memory service listening at ${service.url} (pid ${service.child.pid})`);
    service.onPhase((window) => this.enterPhase(window));
    return service;
  }

  private sessionNames(): string[] {
    const { sessions } = this.plan.settings;
    return Array.from({ length: sessions }, (_, i) => sessionName(i, sessions));
  }

  private intro(): string {
    const { settings, resumed, scenario } = this.plan;
    const head = resumed
      ? `resuming the run started ${settings.startedAt} from ${this.plan.run.dir}`
      : `${settings.sessions} sessions × ${settings.turns} turns, seed ${settings.seed}${settings.fast ? ', --fast' : ''}`;
    const faults = this.isRealHoncho()
      ? ['fault schedule: none (a real Honcho server has its own)']
      : ['fault schedule:', ...describeScenario(scenario).map((l) => `  ${l}`)];
    return [
      `xstate-sync-worker demo: ${head}`,
      `handler: Honcho's SDK, session.addMessages: up to ${BATCH_MAX} turns (${MAX_MESSAGES_PER_CALL} messages)`,
      `         a call, ${CONCURRENCY} sessions side by side`,
      ...faults,
    ].join('\n');
  }

  private isRealHoncho(): boolean {
    return (this.options.honchoUrl ?? this.plan.settings.honchoUrl) !== undefined;
  }

  private enterPhase(window: PhaseWindow): void {
    this.window = window;
    this.display.phase(window, now());
  }

  /** Counts deliveries and the tasks the open breaker made wait. */
  private follow(worker: SyncWorker): void {
    worker.on('taskSucceeded', ({ task }) => {
      if (!('handler' in task)) return;
      this.delivered++;
      this.tally.delivered(task.id);
    });
    worker.on('breakerStateChange', ({ to }) => {
      if (to === 'open') this.tally.breakerOpened();
    });
  }

  private async produce(worker: SyncWorker): Promise<void> {
    if (this.plan.plan.length === 0) return;
    const producer = new Producer(this.plan.plan, (turn) => {
      const accepted = worker.enqueue({
        handler: ADD_MESSAGES,
        key: turn.payload.session,
        id: turn.id,
        payload: turn.payload as never,
      });
      if (!accepted) {
        this.display.note(`enqueue refused ${turn.id}`);
        return;
      }
      this.produced++;
      this.ledger.noteEnqueued(turn.id);
      this.tally.accepted(turn.id, worker.stats().breakerState !== 'closed');
    });
    producer.start();
    await producer.done;
  }

  /** Resolves when nothing is left to deliver, or rejects after a generous bound. */
  private async drained(worker: SyncWorker): Promise<void> {
    await this.ledger.checkpoint(worker);
    const boundMs = this.plan.settings.fast ? 30_000 : 180_000;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (worker.stats().backlog === 0) done();
      };
      const give = setTimeout(() => {
        done();
        reject(
          new Error(`${worker.stats().backlog} turns still undelivered after ${boundMs / 1000} s`),
        );
      }, boundMs);
      const offs = [worker.on('taskSucceeded', check), worker.on('taskFailed', check)];
      const done = () => {
        clearTimeout(give);
        for (const off of offs) off();
        resolve();
      };
      check();
    });
  }

  private sample(worker: SyncWorker, watch: ActorWatch): void {
    const stats = worker.stats();
    const sample: TimelineSample = {
      t: now(),
      phase: this.window?.name ?? 'healthy',
      actors: watch.states(),
      // Durable tasks waiting in memory; the rest of the backlog waits only on disk.
      queued: stats.queued + stats.backlogInMemory,
      backlog: stats.backlog,
      timeoutMs: stats.timeoutMs,
      p95Ms: worker.latencyTracker?.p95,
      delivered: this.delivered,
      produced: this.produced,
      running: stats.running,
    };
    this.samples.push(sample);
    this.display.frame({
      sample,
      window: this.window,
      total: this.total,
      persisting: isPersisting(worker),
      duplicates: this.client.counts.duplicate,
      concurrency: CONCURRENCY,
      retried: stats.retried,
    });
  }

  private scheduleKill(): void {
    const phase = this.options.killAt;
    if (phase === undefined) return;
    const at = this.scenarioOffsetMs + midpointOf(this.plan.scenario, phase) - now();
    setTimeout(
      () => {
        this.display.note(
          `\n--kill-at ${phase}: SIGKILL now. Finish with: npm start -- --backlog ${this.plan.run.dir} --resume`,
        );
        this.display.close();
        process.kill(process.pid, 'SIGKILL');
      },
      Math.max(0, at),
    );
  }

  private async finish(
    worker: SyncWorker,
    watch: ActorWatch,
    stored: StoredWrite[],
  ): Promise<ExitCode> {
    const { plan } = this;
    const { turns } = plan.settings;
    const names = new Set(this.sessionNames());
    const required = plan.resumed
      ? FlushLedger.read(plan.run.ledgerFile)
      : new Set(plan.plan.map((t) => t.id));
    const verdict = verifyDelivery(stored, {
      required,
      isKnown: (session, turn) => names.has(session) && turn >= 0 && turn < turns,
      turnId,
      // Real Honcho keeps every copy a retry stores: count them; the local service refuses them.
      duplicates: this.isRealHoncho() ? 'count' : 'fail',
    });
    const stats = worker.stats();
    if (stats.backlog > 0 || stats.deadLettered > 0) {
      verdict.ok = false;
      verdict.lines.push(
        `${stats.backlog} turns left in the backlog, ${stats.deadLettered} dead letters`,
      );
    }
    const durationMs = now();
    const summary = summarize({
      stats,
      calls: this.client.counts,
      tally: this.tally,
      verdict,
      samples: this.samples,
      changes: watch.changes,
      durationMs,
      produced: this.produced,
      callSamples: this.calls,
      concurrency: CONCURRENCY,
    });
    await this.writeReport(watch, summary, verdict, durationMs);
    const out = this.display;
    out.note(
      [
        '',
        'summary',
        ...formatTable(summary),
        '',
        ...verdict.lines.map((l) => `${verdict.ok ? '✔' : '✘'} ${l}`),
      ].join('\n'),
    );
    out.note(`report: ${this.options.report}`);
    cleanUp(plan.run);
    return verdict.ok ? 0 : 1;
  }

  private async writeReport(
    watch: ActorWatch,
    summary: [string, string][],
    verdict: { ok: boolean; lines: string[] },
    durationMs: number,
  ): Promise<void> {
    const record: RunRecord = {
      title: this.plan.resumed
        ? 'xstate-sync-worker demo (resumed run)'
        : 'xstate-sync-worker demo',
      startedAt: new Date(Date.now() - durationMs).toISOString(),
      durationMs,
      options: reportedOptions(
        this.plan.settings,
        this.plan.resumed,
        this.options.honchoUrl ?? this.plan.settings.honchoUrl,
      ),
      // A real server played no fault schedule: the report shows none.
      scenario: this.isRealHoncho() ? afterTheStorm(this.plan.scenario) : this.plan.scenario,
      scenarioOffsetMs: this.scenarioOffsetMs,
      samples: this.samples,
      calls: this.calls,
      changes: watch.changes,
      summary,
      verdict: { ok: verdict.ok, lines: verdict.lines },
      visited: Object.fromEntries(
        Object.entries(watch.visited).map(([stem, ids]) => [stem, [...ids]]),
      ),
    };
    writeFileSync(this.options.report, await renderReport(record));
  }
}

async function main(argv: readonly string[]): Promise<ExitCode> {
  let options: DemoOptions;
  let plan: RunPlan;
  try {
    options = parseOptions(argv);
    if (options.help) {
      console.log(USAGE);
      return 0;
    }
    plan = planRun(options);
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof RangeError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  const display = options.plain ? new PlainDisplay() : new LiveDisplay();
  process.once('SIGINT', () => {
    display.close();
    process.exit(130);
  });
  try {
    return await new Demo(options, plan, display).run();
  } catch (error) {
    display.close();
    console.error(`the demo failed: ${(error as Error).stack ?? error}`);
    return 1;
  }
}

process.exit(await main(process.argv.slice(2)));
