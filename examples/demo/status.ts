/**
 * What the person running the demo sees while it runs: a status block
 * redrawn in place on a terminal, or plain timestamped lines at each state
 * change when stdout is not a terminal (or under CI).
 */
import type { PhaseWindow, StateChange, TimelineSample } from './types.js';

/** Everything one frame shows. */
export interface StatusFrame {
  sample: TimelineSample;
  window: PhaseWindow | undefined;
  /** Turns this run must deliver (or, resuming, the backlog it started with). */
  total: number;
  /** Whether the backlog is writing a group commit. */
  persisting: boolean;
  duplicates: number;
  retried: number;
}

/** A display: state changes, notes, frames, and the end. */
export interface Display {
  note(line: string): void;
  change(change: StateChange): void;
  phase(window: PhaseWindow, t: number): void;
  frame(frame: StatusFrame): void;
  close(): void;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2).padStart(6)}s`;
const ms = (value: number | undefined) => (value === undefined ? '–' : `${Math.round(value)} ms`);

/** `outage (connections refused)`: a window's name and what it does. */
export function describeWindow(window: PhaseWindow | undefined): string {
  if (window === undefined) return 'starting';
  if (window.outage === 'refuse') return 'outage: connections refused';
  if (window.outage === 'unavailable') return 'outage: every write answered 503';
  if (window.name === 'spike') return 'latency spike';
  if (window.name === 'recovery') return 'slow recovery';
  return 'healthy';
}

function bar(done: number, total: number, width: number): string {
  const filled = total === 0 ? width : Math.min(width, Math.round((done / total) * width));
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

const COLORS: Record<string, string> = {
  closed: '\x1b[32m',
  open: '\x1b[31m',
  half_open: '\x1b[33m',
  blocked: '\x1b[31m',
  backoff: '\x1b[33m',
  replaying: '\x1b[36m',
};
const RESET = '\x1b[0m';
const paint = (label: string, width: number) =>
  `${COLORS[label] ?? ''}${label.padEnd(width)}${COLORS[label] ? RESET : ''}`;

/** The block's lines for one frame. */
export function renderFrame(frame: StatusFrame, recent: readonly string[]): string[] {
  const { sample, total } = frame;
  const { actors } = sample;
  const writes = frame.persisting ? 'persisting' : 'idle';
  return [
    `\x1b[1mxstate-sync-worker demo\x1b[0m   remote: ${describeWindow(frame.window).padEnd(34)} ${seconds(sample.t)}`,
    `  breaker ${paint(actors.breaker, 10)} worker  ${paint(actors.worker, 9)} tracker ${actors.tracker.padEnd(18)} backlog ${paint(actors.backlog, 9)} (writes ${writes})`,
    `  queue   ${String(sample.queued).padEnd(10)} backlog ${String(sample.backlog).padEnd(9)} timeout ${ms(sample.timeoutMs).padEnd(18)} p95     ${ms(sample.p95Ms)}`,
    `  delivered ${bar(sample.delivered, total, 30)} ${sample.delivered}/${total} turns   (409 duplicates ${frame.duplicates}, retried ${frame.retried})`,
    '',
    ...recent.map((line) => `  \x1b[2m${line}\x1b[0m`),
  ];
}

/** Redraws the status block in place; state changes scroll in its last lines. */
export class LiveDisplay implements Display {
  private drawn = 0;
  private closed = false;
  private readonly recent: string[] = [];
  private lastFrame: StatusFrame | undefined;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.out.write('\x1b[?25l'); // hide the cursor while redrawing
  }

  note(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    this.redraw();
  }

  change(change: StateChange): void {
    this.remember(`${seconds(change.t)}  ${change.actor.padEnd(7)} ${change.from} → ${change.to}`);
  }

  phase(window: PhaseWindow, t: number): void {
    this.remember(`${seconds(t)}  remote  ${describeWindow(window)}`);
  }

  frame(frame: StatusFrame): void {
    this.lastFrame = frame;
    this.redraw();
  }

  /** Leaves the last frame on screen; later notes print below it. */
  close(): void {
    if (this.closed) return;
    this.redraw();
    this.closed = true;
    this.drawn = 0;
    this.out.write('\x1b[?25h\n');
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > 6) this.recent.shift();
  }

  private clear(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}F\x1b[0J`);
    this.drawn = 0;
  }

  private redraw(): void {
    if (this.lastFrame === undefined || this.closed) return;
    const lines = renderFrame(this.lastFrame, this.recent);
    this.clear();
    this.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}

/**
 * Plain lines: every state change that matters, the remote's phases, and a
 * progress line at each tenth delivered. The worker's idle ⇄ draining flips
 * with every burst of traffic, so only its rarer states are printed.
 */
export class PlainDisplay implements Display {
  private lastTenth = -1;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  note(line: string): void {
    this.out.write(`${line}\n`);
  }

  change(change: StateChange): void {
    const routine = ['idle', 'draining'];
    if (change.actor === 'worker' && routine.includes(change.from) && routine.includes(change.to)) {
      return;
    }
    this.line(change.t, `${change.actor.padEnd(7)} ${change.from} → ${change.to}`);
  }

  phase(window: PhaseWindow, t: number): void {
    this.line(t, `remote  ${describeWindow(window)}`);
  }

  frame(frame: StatusFrame): void {
    const { sample, total } = frame;
    const tenth = total === 0 ? 10 : Math.floor((sample.delivered / total) * 10);
    if (tenth === this.lastTenth) return;
    this.lastTenth = tenth;
    this.line(
      sample.t,
      `status  delivered ${sample.delivered}/${total}  queue ${sample.queued}  backlog ${sample.backlog}  timeout ${ms(sample.timeoutMs)}  p95 ${ms(sample.p95Ms)}  breaker ${sample.actors.breaker}`,
    );
  }

  close(): void {}

  private line(t: number, text: string): void {
    this.out.write(`${seconds(t)}  ${text}\n`);
  }
}
