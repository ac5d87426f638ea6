import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CircuitBreaker, memoryBacklog, SyncWorker } from '../../src/index.js';
import { type LiveView, type LiveViewOptions, serveLiveView } from '../../src/live/index.js';
import { liveViewSettings } from '../../src/live/options.js';
import { CONTENT_SECURITY_POLICY } from '../../src/live/page.js';
import { fetchRaw, type LiveEvent, openEvents } from '../support/live.js';
import { simulatedWorker } from '../support/worker.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function serve(worker: SyncWorker, options?: LiveViewOptions): Promise<LiveView> {
  const live = await serveLiveView(worker, options);
  open.push(live);
  return live;
}

function failing() {
  return {
    run: () => Promise.reject(new Error('remote down')),
    onFailure: () => {},
  };
}

const breakerTo = (to: string) => (event: LiveEvent) =>
  event.data.changes.some((change) => change.machine === 'breaker' && change.to === to);

describe('serveLiveView: the page', () => {
  it('binds to loopback on a free port by default and says so', async () => {
    const live = await serve(new SyncWorker({ name: 'checkout' }));
    expect(live.host).toBe('127.0.0.1');
    expect(live.url).toBe(`http://127.0.0.1:${live.port}/`);
    const page = await fetchRaw(live.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<title>checkout · live view</title>');
    expect(page.body).toContain(`127.0.0.1:${live.port} (loopback only`);
  });

  it('draws every machine of the worker from the generated diagrams', async () => {
    const worker = new SyncWorker({ backlog: memoryBacklog(), handlers: { write: () => {} } });
    open.push({ close: () => worker.shutdown() });
    const { body } = await fetchRaw((await serve(worker)).url);
    const machines = [...body.matchAll(/<figure class="diagram" data-machine="([^"]+)"/g)];
    expect(machines.map((m) => m[1])).toEqual([
      'breaker',
      'tracker',
      'worker',
      'backlog',
      'syncWorker',
    ]);
    expect(body).toContain('<title>breaker.half_open.awaitingProbe</title>');
    expect(body).not.toMatch(/<\?xml|<!DOCTYPE svg/);
    // Ids are unique in the page although every diagram numbers its nodes alike.
    const ids = [...body.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('loads nothing from elsewhere and nothing inline: a CSP forbids it', async () => {
    const live = await serve(new SyncWorker());
    const page = await fetchRaw(live.url);
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toMatch(/^default-src 'none'; /);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe|https?:|\*/);
    expect(page.body).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(page.body).not.toMatch(/<script>|<style|style="/i);
    expect(page.body).toContain('<script src="/live.js" defer></script>');
    const script = await fetchRaw(`${live.url}live.js`);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain("new EventSource('/events')");
    expect(script.body).not.toMatch(/innerHTML|eval\(|new Function/);
    const style = await fetchRaw(`${live.url}live.css`);
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(style.body).not.toMatch(/@import|url\(/);
  });

  it('escapes the worker’s name', async () => {
    const live = await serve(new SyncWorker({ name: '<img src=x onerror="alert(1)">' }));
    const { body } = await fetchRaw(live.url);
    expect(body).not.toContain('<img');
    expect(body).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt; · live view');
  });

  it('refuses a Host header other than its own address (DNS rebinding) with 421', async () => {
    const live = await serve(new SyncWorker());
    for (const path of ['', 'events', 'live.js']) {
      const answer = await fetchRaw(`${live.url}${path}`, {
        headers: { host: `rebind.attacker.example:${live.port}` },
      });
      expect(answer.status, path).toBe(421);
      expect(answer.body).not.toContain('<svg');
    }
    const byName = await fetchRaw(live.url, { headers: { host: `localhost:${live.port}` } });
    expect(byName.status).toBe(200);
  });

  it('is read-only, and answers 404 for what it does not have', async () => {
    const live = await serve(new SyncWorker());
    const posted = await fetchRaw(`${live.url}events`, { method: 'POST' });
    expect(posted.status).toBe(405);
    expect(posted.headers.allow).toBe('GET, HEAD');
    const head = await fetchRaw(`${live.url}events`, { method: 'HEAD' });
    expect([head.status, head.headers['content-type'], head.body]).toEqual([
      200,
      'text/event-stream; charset=utf-8',
      '',
    ]);
    expect(live.viewers).toBe(0);
    expect((await fetchRaw(`${live.url}../package.json`)).status).toBe(404);
    expect((await fetchRaw(`${live.url}nothing`)).status).toBe(404);
  });
});

describe('serveLiveView: the event stream', () => {
  it('sends the current states at once, then each change of the breaker as it happens', async () => {
    const { worker, clock } = simulatedWorker({
      breaker: { failureThreshold: 2, probeIntervalMs: 1_000 },
    });
    open.push({ close: () => worker.shutdown() });
    const live = await serve(worker);
    const stream = await openEvents(live.url);
    open.push(stream);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const [snapshot] = stream.events.length ? stream.events : [await stream.next(() => true)];
    expect(snapshot?.data.actors).toContainEqual({
      machine: 'breaker',
      label: 'closed',
      ids: ['breaker.closed'],
    });
    worker.enqueue(failing());
    worker.enqueue(failing());
    await stream.next(breakerTo('open'));
    clock.increment(1_000);
    const probed = await stream.next(breakerTo('half_open.awaitingProbe'));
    expect(probed.event).toBe('update');
    const seqs = stream.events.flatMap((event) => event.data.changes.map((c) => c.seq));
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(live.viewers).toBe(1);
  });

  it('follows a breaker the user built, which runs in an actor system of its own', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const worker = new SyncWorker({ breaker });
    open.push({ close: () => breaker.dispose() }, { close: () => worker.shutdown() });
    const stream = await openEvents((await serve(worker)).url);
    open.push(stream);
    expect(breaker.actor.system).not.toBe(worker.actor.system);
    breaker.recordFailure();
    const opened = await stream.next(breakerTo('open'));
    expect(opened.data.changes.find((c) => c.machine === 'breaker')?.from).toBe('closed');
  });

  it('resumes a reconnecting viewer from its Last-Event-ID without repeating or skipping', async () => {
    const { worker } = simulatedWorker({ breaker: { failureThreshold: 1 } });
    open.push({ close: () => worker.shutdown() });
    const live = await serve(worker);
    const first = await openEvents(live.url);
    worker.enqueue(failing());
    const opened = await first.next(breakerTo('open'));
    first.close();
    worker.breaker?.reset();
    const again = await openEvents(live.url, opened.id);
    open.push(again);
    const resumed = await again.next((event) => event.event === 'snapshot');
    expect(resumed.data.reason).toBe('resume');
    const changes = (await again.next(breakerTo('closed'))).data.changes;
    expect(changes[0]?.seq).toBe(opened.id + 1);
  });

  it('follows the actors without an event per task: 1,000 tasks cost no inspection event each', async () => {
    const worker = new SyncWorker();
    open.push({ close: () => worker.shutdown() });
    let events = 0;
    const counting = worker.actor.system.inspect(() => events++);
    await serve(worker);
    for (let i = 0; i < 1_000; i++) worker.enqueue({ run: async () => i });
    await worker.onIdle();
    counting.unsubscribe();
    // Going idle ⇄ draining and warming up the tracker: a handful, not thousands.
    expect(events).toBeLessThan(20);
  });

  it('close() ends every stream and frees the port; a second close() is the same', async () => {
    const live = await serveLiveView(new SyncWorker());
    const stream = await openEvents(live.url);
    const closing = live.close();
    expect(live.close()).toBe(closing);
    await closing;
    await stream.ended;
    await expect(fetchRaw(live.url)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('serveLiveView: options', () => {
  const worker = new SyncWorker();

  it('needs an explicit allowRemote to bind an address other machines can reach', async () => {
    await expect(serveLiveView(worker, { host: '0.0.0.0' })).rejects.toThrow(RangeError);
    await expect(serveLiveView(worker, { host: '0.0.0.0' })).rejects.toThrow(
      /host "0\.0\.0\.0" is not a loopback address.*allowRemote: true/,
    );
    const live = await serve(worker, {
      host: '0.0.0.0',
      allowRemote: true,
      allowedHosts: ['127.0.0.1'],
    });
    const page = await fetchRaw(`http://127.0.0.1:${live.port}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('reachable from other machines');
    const unlisted = await fetchRaw(`http://127.0.0.1:${live.port}/`, {
      headers: { host: `localhost:${live.port}` },
    });
    expect(unlisted.status).toBe(421);
  });

  it.each([
    [{ port: -1 }, RangeError, /port must be an integer from 0 to 65535/],
    [{ port: 1.5 }, RangeError, /port/],
    [{ host: '' }, TypeError, /host must be a non-empty string/],
    [{ host: '10.1.2.3', allowRemote: 'yes' }, TypeError, /allowRemote must be a boolean/],
    [{ allowedHosts: 'box' }, TypeError, /allowedHosts must be an array/],
    [{ history: 0 }, RangeError, /history must be an integer ≥ 1 up to 100000/],
    [{ maxBufferedBytes: Number.NaN }, RangeError, /maxBufferedBytes must not be NaN/],
    [{ logger: 'console' }, TypeError, /logger must be a console-compatible object/],
    [{ clock: {} }, TypeError, /clock must have now/],
  ])('refuses %j naming the option', async (options, type, message) => {
    const attempt = serveLiveView(worker, options as LiveViewOptions);
    await expect(attempt).rejects.toThrow(type);
    await expect(serveLiveView(worker, options as LiveViewOptions)).rejects.toThrow(message);
  });

  it('refuses something that is not a worker', async () => {
    await expect(serveLiveView({} as SyncWorker)).rejects.toThrow(
      /serveLiveView: worker must be a SyncWorker/,
    );
  });

  it('keeps 1,000 changes and drops a viewer past 1 MiB unsent, by default', () => {
    expect(liveViewSettings({})).toMatchObject({
      host: '127.0.0.1',
      port: 0,
      history: 1_000,
      maxBufferedBytes: 1024 * 1024,
    });
  });
});

describe('serveLiveView: the process', () => {
  it('never keeps Node alive, even with a viewer connected and the view left open', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/live-view-left-open.ts', import.meta.url));
    const stdout = await new Promise<string>((resolve, reject) => {
      // A generous bound, not a timing assertion: a process kept alive would be killed here.
      execFile(process.execPath, ['--import', 'tsx', fixture], { timeout: 10_000 }, (error, out) =>
        error
          ? reject(new Error(`the process did not exit on its own: ${error.message}`))
          : resolve(out),
      );
    });
    expect(stdout).toContain('left open: 1 viewer');
  });
});
