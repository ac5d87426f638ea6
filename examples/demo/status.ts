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
  /** The worker's `concurrency`: how many calls may be in flight. */
  concurrency?: number;
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

/** The widest the block is drawn, whatever the terminal: it is laid out for 80 columns. */
export const BLOCK_COLUMNS = 80;

/** The block's lines for one frame, each at most 80 columns wide (colour codes aside). */
export function renderFrame(frame: StatusFrame, recent: readonly string[]): string[] {
  const { sample, total } = frame;
  const { actors } = sample;
  const writes = frame.persisting ? 'persisting' : 'idle';
  const inFlight = `${sample.running ?? 0}/${frame.concurrency ?? 1}`;
  return [
    `\x1b[1mxstate-sync-worker demo\x1b[0m  remote: ${describeWindow(frame.window).padEnd(34)} ${seconds(sample.t)}`,
    `  breaker ${paint(actors.breaker, 10)} worker  ${paint(actors.worker, 10)} tracker ${actors.tracker}`,
    `  backlog ${paint(actors.backlog, 10)} writes  ${writes.padEnd(10)} calls   ${inFlight} in flight`,
    `  queue   ${String(sample.queued).padEnd(10)} backlog ${String(sample.backlog).padEnd(10)} timeout ${ms(sample.timeoutMs).padEnd(9)} p95 ${ms(sample.p95Ms)}`,
    `  delivered ${bar(sample.delivered, total, 30)} ${sample.delivered}/${total} turns`,
    `  409 duplicates ${frame.duplicates}, retried ${frame.retried}`,
    '',
    ...recent.map((line) => `  \x1b[2m${line}\x1b[0m`),
  ].map((line) => fitColumns(line, BLOCK_COLUMNS));
}

/** An escape sequence (colour, cursor): it takes no column. */
const ESCAPE = new RegExp(`^${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`);

/** Columns a line takes on screen: its characters, colour codes aside. */
export function visibleWidth(line: string): number {
  let width = 0;
  for (let i = 0; i < line.length; ) {
    const code = ESCAPE.exec(line.slice(i));
    if (code) {
      i += code[0].length;
      continue;
    }
    width++;
    i += (line.codePointAt(i) as number) > 0xffff ? 2 : 1;
  }
  return width;
}

/** The line cut to `columns` on screen, colour codes kept (and reset if cut). */
export function fitColumns(line: string, columns: number): string {
  if (visibleWidth(line) <= columns) return line;
  let out = '';
  let width = 0;
  for (let i = 0; i < line.length && width < columns; ) {
    const code = ESCAPE.exec(line.slice(i));
    if (code) {
      out += code[0];
      i += code[0].length;
      continue;
    }
    const size = (line.codePointAt(i) as number) > 0xffff ? 2 : 1;
    out += line.slice(i, i + size);
    width++;
    i += size;
  }
  return `${out}${RESET}`;
}

/** The worker's idle ⇄ draining flips with every burst of traffic: not worth a line. */
export function isRoutineChange(change: StateChange): boolean {
  const routine = ['idle', 'draining'];
  return change.actor === 'worker' && routine.includes(change.from) && routine.includes(change.to);
}

/**
 * Redraws the status block in place; state changes scroll in its last lines.
 * Each line is cut to the terminal's width (less one column, so no terminal
 * wraps it), and moving back up counts the rows each line takes at the
 * current width, so a resize leaves no wrapped remains behind.
 */
export class LiveDisplay implements Display {
  /** The lines last drawn, as written. */
  private drawnLines: string[] = [];
  private closed = false;
  private readonly recent: string[] = [];
  /** The last change listed, and how many times it and its reverse came back to back. */
  private flip: { first: StateChange; change: StateChange; count: number } | undefined;
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
    if (isRoutineChange(change)) return;
    const last = this.flip?.change;
    const reverses =
      last !== undefined &&
      last.actor === change.actor &&
      last.from === change.to &&
      last.to === change.from;
    if (this.flip !== undefined && reverses) {
      // A state left and entered again at once (draining ⇄ backoff between retries): one counted line.
      this.flip.count++;
      this.recent[this.recent.length - 1] =
        `${seconds(change.t)}  ${change.actor.padEnd(7)} ${this.flip.first.from} ⇄ ${this.flip.first.to} (×${this.flip.count})`;
      this.flip.change = change;
      return;
    }
    this.remember(`${seconds(change.t)}  ${change.actor.padEnd(7)} ${change.from} → ${change.to}`);
    this.flip = { first: change, change, count: 1 };
  }

  phase(window: PhaseWindow, t: number): void {
    this.remember(`${seconds(t)}  remote  ${describeWindow(window)}`);
    this.flip = undefined;
  }

  /** The terminal's width; 80 when it does not say. */
  private columns(): number {
    return this.out.columns > 0 ? this.out.columns : BLOCK_COLUMNS;
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
    this.drawnLines = [];
    this.out.write('\x1b[?25h\n');
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > 6) this.recent.shift();
  }

  private clear(): void {
    const columns = this.columns();
    // A line wider than the terminal (after a resize narrowed it) takes several rows.
    const rows = this.drawnLines.reduce(
      (sum, line) => sum + Math.max(1, Math.ceil(visibleWidth(line) / columns)),
      0,
    );
    if (rows > 0) this.out.write(`\x1b[${rows}F\x1b[0J`);
    this.drawnLines = [];
  }

  private redraw(): void {
    if (this.lastFrame === undefined || this.closed) return;
    const width = Math.min(BLOCK_COLUMNS, this.columns() - 1);
    const lines = renderFrame(this.lastFrame, this.recent).map((l) => fitColumns(l, width));
    this.clear();
    this.out.write(`${lines.join('\n')}\n`);
    this.drawnLines = lines;
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
    if (isRoutineChange(change)) return;
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
