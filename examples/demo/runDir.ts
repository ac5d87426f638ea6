/**
 * The run directory: the LMDB backlog, and beside it the memory service's
 * store, the run's settings and the flush ledger, so that a run killed with
 * `--kill-at` can be finished and checked by `--resume`.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SyncWorker } from '../../src/index.js';
import { UsageError } from './options.js';
import { DEFAULT_OUTAGE_MS } from './scenario.js';

/** The settings a resumed run must share with the killed one. */
export interface RunSettings {
  sessions: number;
  turns: number;
  seed: number;
  fast: boolean;
  outageMs: number | undefined;
  /** ISO time the first run started. */
  startedAt: string;
  /** The Honcho workspace the run writes to (a new one per run). */
  workspaceId: string;
  /** The real Honcho server written to (`--honcho-url`), or none for the local service. */
  honchoUrl?: string | undefined;
}

/** Where a run keeps its files. */
export interface RunDir {
  dir: string;
  /** Made for this run, and removed at its end. */
  temporary: boolean;
  serviceFile: string;
  settingsFile: string;
  ledgerFile: string;
}

const SETTINGS = 'demo-run.json';

function layout(dir: string, temporary: boolean): RunDir {
  return {
    dir,
    temporary,
    serviceFile: path.join(dir, 'memory-service.jsonl'),
    settingsFile: path.join(dir, SETTINGS),
    ledgerFile: path.join(dir, 'demo-flushed.jsonl'),
  };
}

/**
 * The directory for a new run: `--backlog <dir>` (which must not hold an
 * earlier run), or a fresh temporary one.
 */
export function newRunDir(backlog: string | undefined): RunDir {
  if (backlog === undefined) {
    return layout(mkdtempSync(path.join(os.tmpdir(), 'xstate-sync-worker-demo-')), true);
  }
  const run = layout(backlog, false);
  if (existsSync(run.settingsFile)) {
    throw new UsageError(
      `${backlog} holds an earlier run: finish it with --resume, or choose an empty directory`,
    );
  }
  mkdirSync(backlog, { recursive: true });
  return run;
}

/** The directory of a killed run, and its settings. */
export function existingRunDir(backlog: string): { run: RunDir; settings: RunSettings } {
  const run = layout(backlog, false);
  if (!existsSync(run.settingsFile)) {
    throw new UsageError(`${backlog} holds no run to resume (no ${SETTINGS})`);
  }
  return { run, settings: JSON.parse(readFileSync(run.settingsFile, 'utf8')) as RunSettings };
}

export function writeSettings(run: RunDir, settings: RunSettings): void {
  writeFileSync(run.settingsFile, `${JSON.stringify(settings, null, 2)}\n`);
}

/**
 * The report's option chips: each option with the value the run used, the
 * defaults spelled out (`--outage-ms 12000`), and the flags only when set.
 */
export function reportedOptions(
  settings: RunSettings,
  resumed: boolean,
  honchoUrl: string | undefined,
): Record<string, string | number | boolean> {
  return {
    sessions: settings.sessions,
    turns: settings.turns,
    seed: settings.seed,
    'outage-ms': settings.outageMs ?? DEFAULT_OUTAGE_MS[settings.fast ? 'fast' : 'full'],
    ...(settings.fast ? { fast: true } : {}),
    ...(resumed ? { resume: true } : {}),
    ...(honchoUrl === undefined ? {} : { 'honcho-url': honchoUrl }),
  };
}

/** Removes a temporary run directory. */
export function cleanUp(run: RunDir): void {
  if (run.temporary) rmSync(run.dir, { recursive: true, force: true });
}

/** Appends a line and forces it to disk: a SIGKILL right after must not lose it. */
function appendDurably(file: string, line: string): void {
  const fd = openSync(file, 'a');
  try {
    appendFileSync(fd, line);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Records which tasks the backlog holds for sure: after each `flush()`
 * resolves, the ids enqueued before it are appended to the ledger. After a
 * kill, exactly these must arrive; later ones may have died with the process.
 */
export class FlushLedger {
  private readonly enqueued: string[] = [];
  private flushedUpTo = 0;
  private flushing = false;

  constructor(private readonly file: string) {}

  /** Task ids whose flush resolved, from the ledger file. */
  static read(file: string): Set<string> {
    if (!existsSync(file)) return new Set();
    const ids = new Set<string>();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      // A torn last line (killed mid-write) was never confirmed: skip it.
      if (!line.endsWith(']')) continue;
      for (const id of JSON.parse(line) as string[]) ids.add(id);
    }
    return ids;
  }

  noteEnqueued(id: string): void {
    this.enqueued.push(id);
  }

  /** Flushes the worker and records what that made durable; one checkpoint at a time. */
  async checkpoint(worker: SyncWorker): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    const upTo = this.enqueued.length;
    try {
      await worker.flush();
      if (upTo > this.flushedUpTo) {
        appendDurably(
          this.file,
          `${JSON.stringify(this.enqueued.slice(this.flushedUpTo, upTo))}\n`,
        );
        this.flushedUpTo = upTo;
      }
    } finally {
      this.flushing = false;
    }
  }
}
