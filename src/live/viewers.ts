import type { Clock } from '../clock.js';
import type { StateChange } from './changeRing.js';
import type { MetricSample } from './feed.js';
import type { ActorState, LiveState } from './liveState.js';

/** The least a viewer's connection must offer: an `http.ServerResponse` is one. */
export interface ViewerStream {
  write(chunk: string): boolean;
  /** Bytes written but not yet sent: Node's buffer plus the socket's. */
  readonly writableLength: number;
  destroy(): void;
}

/** The full picture: sent on connect, and again to a viewer that fell behind the ring. */
export interface SnapshotMessage {
  /** `connect`: a new viewer; `resume`: a reconnect that continues its list; `resync`: it fell behind. */
  reason: 'connect' | 'resume' | 'resync';
  /** Changes lost between what the viewer had and `changes[0]`; 0 when none. */
  missed: number;
  actors: ActorState[];
  changes: StateChange[];
  metrics: MetricSample[];
}

/** What changed since the viewer's last message, coalesced. */
export interface UpdateMessage {
  changes: StateChange[];
  metric: MetricSample;
}

/** How a hub behaves. */
export interface HubSettings {
  /** A viewer with more than this many bytes unsent is dropped. */
  maxBufferedBytes: number;
  /** Time between two sends. */
  intervalMs: number;
  /** Chart points kept for a viewer that connects later. */
  metricsKept: number;
  clock: Clock;
}

interface Viewer {
  stream: ViewerStream;
  /** The last sequence number this viewer was sent. */
  seenSeq: number;
}

/** One server-sent event; `id` is what the browser sends back as `Last-Event-ID` when it reconnects. */
function sse(event: string, id: number, data: unknown): string {
  return `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The viewers of one live view. While any is connected, every `intervalMs`
 * it samples the worker's numbers once and sends each viewer, in one
 * message, every change since its last one: changes between two sends are
 * coalesced, and a burst of transitions costs one write per viewer. A
 * viewer whose unsent bytes exceed `maxBufferedBytes` is dropped (its
 * browser reconnects and resumes from its last event id). A viewer whose
 * next change has already left the ring gets a `resync` snapshot saying
 * how many it missed, so its list never skips a transition unannounced.
 */
export class ViewerHub {
  readonly #viewers = new Set<Viewer>();
  readonly #metrics: MetricSample[] = [];
  #timer: unknown;
  #dropped = 0;

  constructor(
    private readonly state: LiveState,
    private readonly sample: () => MetricSample,
    private readonly settings: HubSettings,
  ) {}

  /** Viewers connected now. */
  get size(): number {
    return this.#viewers.size;
  }

  /** Viewers dropped for being too slow, so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Adds a viewer and sends it the snapshot at once. `lastEventId` is the
   * browser's `Last-Event-ID` on a reconnect: its list then continues from there.
   */
  add(stream: ViewerStream, lastEventId?: number): () => void {
    const ring = this.state.ring;
    // An id from before a restart (higher than anything here) cannot be resumed.
    const resumable = lastEventId !== undefined && lastEventId <= ring.lastSeq;
    const viewer: Viewer = { stream, seenSeq: resumable ? lastEventId : 0 };
    this.#viewers.add(viewer);
    const { changes, missed } = ring.since(viewer.seenSeq);
    const picture: SnapshotMessage = {
      ...this.#picture(changes, missed),
      reason: resumable ? 'resume' : 'connect',
    };
    this.#write(viewer, sse('snapshot', ring.lastSeq, picture), ring.lastSeq);
    if (this.#timer === undefined && this.#viewers.size > 0) this.#schedule();
    return () => this.#remove(viewer);
  }

  /** Samples the numbers and sends every viewer what is new for it. */
  flush(): void {
    if (this.#viewers.size === 0) return;
    const metric = this.sample();
    this.#metrics.push(metric);
    if (this.#metrics.length > this.settings.metricsKept) this.#metrics.shift();
    // Viewers that saw the same changes get the same bytes: encode once per starting point.
    const encoded = new Map<number, string>();
    for (const viewer of [...this.#viewers]) {
      let message = encoded.get(viewer.seenSeq);
      if (message === undefined) {
        message = this.#encodeFor(viewer.seenSeq, metric);
        encoded.set(viewer.seenSeq, message);
      }
      this.#write(viewer, message, this.state.ring.lastSeq);
    }
  }

  /** Ends every viewer's stream and stops sending. */
  closeAll(): void {
    for (const viewer of [...this.#viewers]) {
      this.#remove(viewer);
      viewer.stream.destroy();
    }
  }

  /** The message for a viewer that has seen up to `seenSeq`: an update, or a resync if it fell behind. */
  #encodeFor(seenSeq: number, metric: MetricSample): string {
    const { changes, missed } = this.state.ring.since(seenSeq);
    const lastSeq = this.state.ring.lastSeq;
    if (missed > 0) {
      const picture: SnapshotMessage = { ...this.#picture(changes, missed), reason: 'resync' };
      return sse('snapshot', lastSeq, picture);
    }
    const update: UpdateMessage = { changes, metric };
    return sse('update', lastSeq, update);
  }

  #picture(changes: StateChange[], missed: number): Omit<SnapshotMessage, 'reason'> {
    return { missed, actors: this.state.actors(), changes, metrics: [...this.#metrics] };
  }

  #write(viewer: Viewer, text: string, seq: number): void {
    viewer.stream.write(text);
    viewer.seenSeq = seq;
    if (viewer.stream.writableLength > this.settings.maxBufferedBytes) {
      // It cannot keep up: holding more for it would cost the process memory, not the viewer.
      this.#dropped++;
      this.#remove(viewer);
      viewer.stream.destroy();
    }
  }

  #remove(viewer: Viewer): void {
    if (!this.#viewers.delete(viewer)) return;
    if (this.#viewers.size === 0 && this.#timer !== undefined) {
      this.settings.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #schedule(): void {
    this.#timer = this.settings.clock.setTimeout(() => {
      this.#timer = undefined;
      this.flush();
      if (this.#viewers.size > 0) this.#schedule();
    }, this.settings.intervalMs);
  }
}
