/**
 * The fleet tests' history: an append-only log (one JSON line per event) that
 * producers, workers and the test itself write to, and a checker that reads
 * it back and lists every broken guarantee. Processes append whole lines with
 * one write each (O_APPEND), so the file's order is the order in which the
 * writes happened, and a delivery that the store ordered after another is
 * logged after it.
 */
import { appendFileSync, readFileSync } from 'node:fs';

/** A producer accepted a task. `n` counts that producer's enqueues from 0; `seq` is the store's, when the producer saw it. */
export interface EnqueueEvent {
  readonly type: 'enqueue';
  readonly producer: string;
  readonly n: number;
  readonly key: string;
  readonly id: string;
  readonly seq?: number;
}

/** A producer's `flush()` resolved: these ids are durable and must all be delivered. */
export interface FlushedEvent {
  readonly type: 'flushed';
  readonly producer: string;
  readonly ids: readonly string[];
}

/** A handler was called with a task (a batch logs one event per task, in order). */
export interface DeliverEvent {
  readonly type: 'deliver';
  readonly worker: string;
  readonly key: string;
  readonly id: string;
  /** The payload's producer and number: the same task must never arrive under two ids. */
  readonly producer: string;
  readonly n: number;
}

/**
 * Something that may make the fleet deliver a task again: a worker SIGKILLed
 * or paused past its lease (`worker` set), or a server restart (no worker),
 * logged when it begins (`restart`) and once the server answers again
 * (`restarted`): runs in between may have lost their outcome or their lease.
 */
export interface FaultEvent {
  readonly type: 'fault';
  readonly kind: 'kill' | 'pause' | 'lease-lost' | 'restart' | 'restarted';
  readonly worker?: string;
}

/** One line of the log. */
export type HistoryEvent = EnqueueEvent | FlushedEvent | DeliverEvent | FaultEvent;

/** Appends one event to the log at `file`, as one write. */
export function logEvent(file: string, event: HistoryEvent): void {
  appendFileSync(file, `${JSON.stringify(event)}\n`);
}

/** Reads the log at `file`; a torn last line (a writer killed mid-write) is ignored. */
export function readHistory(file: string): HistoryEvent[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const events: HistoryEvent[] = [];
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    try {
      events.push(JSON.parse(line) as HistoryEvent);
    } catch (error) {
      if (index < lines.length - 1 && lines.slice(index + 1).some((rest) => rest !== ''))
        throw error;
    }
  }
  return events;
}

/** One broken guarantee. */
export interface Violation {
  readonly kind:
    | 'lost'
    | 'unknown-id'
    | 'seq-order'
    | 'producer-order'
    | 'duplicate'
    | 'same-task-two-ids';
  readonly message: string;
}

interface Delivered {
  readonly index: number;
  readonly event: DeliverEvent;
}

/** Groups the deliveries by id, each list in log order. */
function deliveriesById(events: readonly HistoryEvent[]): Map<string, Delivered[]> {
  const byId = new Map<string, Delivered[]>();
  for (const [index, event] of events.entries()) {
    if (event.type !== 'deliver') continue;
    const list = byId.get(event.id) ?? [];
    list.push({ index, event });
    byId.set(event.id, list);
  }
  return byId;
}

/** Every flushed id was delivered, and every delivered id was enqueued. */
function checkDelivered(
  events: readonly HistoryEvent[],
  byId: Map<string, Delivered[]>,
  enqueued: Map<string, EnqueueEvent>,
): Violation[] {
  const violations: Violation[] = [];
  for (const event of events) {
    if (event.type !== 'flushed') continue;
    for (const id of event.ids) {
      if (!byId.has(id)) {
        violations.push({
          kind: 'lost',
          message: `${id} (flushed by ${event.producer}) was never delivered`,
        });
      }
    }
  }
  for (const id of byId.keys()) {
    if (!enqueued.has(id))
      violations.push({ kind: 'unknown-id', message: `${id} was delivered but never enqueued` });
  }
  return violations;
}

/**
 * Per key, first deliveries in log order must follow the store's seq (where
 * known) and each producer's own numbering.
 */
function checkOrder(
  firsts: readonly DeliverEvent[],
  enqueued: Map<string, EnqueueEvent>,
): Violation[] {
  const violations: Violation[] = [];
  const lastSeq = new Map<string, { seq: number; id: string }>();
  const lastN = new Map<string, { n: number; id: string }>();
  for (const event of firsts) {
    const seq = enqueued.get(event.id)?.seq;
    const before = lastSeq.get(event.key);
    if (seq !== undefined) {
      if (before && seq < before.seq) {
        violations.push({
          kind: 'seq-order',
          message: `key ${event.key}: ${event.id} (seq ${seq}) first delivered after ${before.id} (seq ${before.seq})`,
        });
      }
      if (!before || seq > before.seq) lastSeq.set(event.key, { seq, id: event.id });
    }
    const lane = `${event.key}\u0000${event.producer}`;
    const earlier = lastN.get(lane);
    if (earlier && event.n < earlier.n) {
      violations.push({
        kind: 'producer-order',
        message: `key ${event.key}: ${event.producer}'s task ${event.n} (${event.id}) first delivered after its task ${earlier.n} (${earlier.id})`,
      });
    }
    if (!earlier || event.n > earlier.n) lastN.set(lane, { n: event.n, id: event.id });
  }
  return violations;
}

/**
 * A task delivered more than once must be so under one id, and only where a
 * fault explains it, logged before the repeat: a server restart that had not
 * yet finished when the task was delivered before (that run's outcome or its
 * lease may have been lost with the server); or a kill, pause or lost lease
 * of a worker that took part: the repeating worker itself (a paused worker
 * running late what it had claimed), or one that delivered the task before
 * the repeat (its run died, or it woke up late with a claim whose lease had
 * run out meanwhile).
 */
function checkDuplicates(
  events: readonly HistoryEvent[],
  byId: Map<string, Delivered[]>,
): Violation[] {
  const violations: Violation[] = [];
  const faults = [...events.entries()].filter(
    (entry): entry is [number, FaultEvent] =>
      entry[1].type === 'fault' && entry[1].kind !== 'restarted',
  );
  /** Where the restart that began at `at` was logged as finished (the end of the log if never). */
  const restartEnd = (at: number): number => {
    const end = events.findIndex((e, i) => i > at && e.type === 'fault' && e.kind === 'restarted');
    return end < 0 ? events.length : end;
  };
  for (const [id, deliveries] of byId) {
    for (const repeat of deliveries.slice(1)) {
      const before = deliveries.filter((d) => d.index < repeat.index);
      const explained = faults.some(([at, fault]) => {
        if (at > repeat.index) return false;
        if (fault.kind === 'restart') return before.some((d) => d.index < restartEnd(at));
        if (fault.worker === repeat.event.worker) return true;
        return before.some((d) => d.event.worker === fault.worker);
      });
      if (!explained) {
        violations.push({
          kind: 'duplicate',
          message: `${id} delivered again by ${repeat.event.worker} with no kill, pause, lease loss or restart to explain it`,
        });
      }
    }
  }
  return violations;
}

/** The same task (producer and number) must never be delivered under two ids. */
function checkOneIdPerTask(byId: Map<string, Delivered[]>): Violation[] {
  const idOfTask = new Map<string, string>();
  const violations: Violation[] = [];
  for (const [id, deliveries] of byId) {
    for (const { event } of deliveries) {
      const task = `${event.producer}#${event.n}`;
      const other = idOfTask.get(task);
      if (other === undefined) idOfTask.set(task, id);
      else if (other !== id) {
        violations.push({
          kind: 'same-task-two-ids',
          message: `${task} delivered as ${other} and as ${id}`,
        });
      }
    }
  }
  return violations;
}

/** Every guarantee the fleet makes, checked over one log; an empty list means the history is good. */
export function checkHistory(events: readonly HistoryEvent[]): Violation[] {
  const enqueued = new Map<string, EnqueueEvent>();
  for (const event of events) if (event.type === 'enqueue') enqueued.set(event.id, event);
  const byId = deliveriesById(events);
  const firsts = [...byId.values()]
    .map((deliveries) => deliveries[0] as Delivered)
    .sort((a, b) => a.index - b.index)
    .map((first) => first.event);
  return [
    ...checkDelivered(events, byId, enqueued),
    ...checkOrder(firsts, enqueued),
    ...checkDuplicates(events, byId),
    ...checkOneIdPerTask(byId),
  ];
}
