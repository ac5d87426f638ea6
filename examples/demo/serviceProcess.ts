/**
 * Runs the memory service in a child process (`service.ts`), the way the
 * demo does: it answers over IPC, reports each phase change, and exits when
 * its parent dies, so a SIGKILLed demo leaves no orphan holding the port.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HOST, type PhaseListener } from './memoryService.js';
import { type ScenarioWire, scenarioToWire } from './scenario.js';
import type { PhaseName, PhaseWindow, Scenario } from './types.js';

/** Parent → child. */
export type ServiceCommand =
  | { type: 'start'; file: string; scenario: ScenarioWire }
  | { type: 'stop' };

/** Child → parent. `atMs` is the service's scenario time; `index` the window's in the scenario. */
export type ServiceEvent =
  | { type: 'listening'; port: number; atMs: number }
  | {
      type: 'phase';
      name: PhaseName;
      outage?: PhaseWindow['outage'];
      atMs: number;
      index: number;
    };

/** A memory service in a child process. */
export interface ServiceProcess {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /**
   * This process's `performance.now()` at the service's t = 0, estimated from
   * the `listening` message (off by the IPC delay, well under a millisecond
   * to a few).
   */
  readonly scenarioStart: number;
  /** Calls `listener` with the latest window at once (if any yet), then at each change. */
  onPhase(listener: PhaseListener): () => void;
  /** Asks the service to close and waits for the child to exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
}

const SERVICE_ENTRY = fileURLToPath(new URL('./service.ts', import.meta.url));
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

function isServiceEvent(message: unknown): message is ServiceEvent {
  const type = (message as { type?: unknown } | null)?.type;
  return type === 'listening' || type === 'phase';
}

function exitOf(child: ChildProcess): string {
  return child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
}

/** Resolves with the `listening` event, or rejects if the child exits, fails or takes over 10 s. */
function awaitListening(
  child: ChildProcess,
): Promise<Extract<ServiceEvent, { type: 'listening' }>> {
  return new Promise((resolve, reject) => {
    const finish = (error?: Error, event?: Extract<ServiceEvent, { type: 'listening' }>) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) reject(error);
      else resolve(event as Extract<ServiceEvent, { type: 'listening' }>);
    };
    const onMessage = (message: unknown) => {
      if (isServiceEvent(message) && message.type === 'listening') finish(undefined, message);
    };
    const onExit = () =>
      finish(new Error(`the memory service exited before listening (${exitOf(child)})`));
    const onError = (error: Error) =>
      finish(new Error('the memory service could not start', { cause: error }));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`the memory service did not listen within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.send({ type: 'stop' } satisfies ServiceCommand);
    else child.kill();
  });
}

/**
 * Forks `service.ts` (under tsx), starts the service over `file` with
 * `scenario`, and resolves once it listens. The child exits by itself if
 * this process dies, even by SIGKILL.
 */
export async function startServiceProcess({
  file,
  scenario,
}: {
  file: string;
  scenario: Scenario;
}): Promise<ServiceProcess> {
  const child = fork(SERVICE_ENTRY, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let latest: { window: PhaseWindow; atMs: number } | undefined;
  const listeners = new Set<PhaseListener>();
  child.on('message', (message: unknown) => {
    if (!isServiceEvent(message) || message.type !== 'phase') return;
    const window = scenario.windows[message.index];
    if (window === undefined) return;
    latest = { window, atMs: message.atMs };
    for (const listener of listeners) listener(window, message.atMs);
  });
  const listening = awaitListening(child);
  child.send({ type: 'start', file, scenario: scenarioToWire(scenario) } satisfies ServiceCommand);
  const { port, atMs } = await listening;
  return {
    port,
    url: `http://${HOST}:${port}`,
    child,
    scenarioStart: performance.now() - atMs,
    onPhase(listener) {
      listeners.add(listener);
      if (latest) listener(latest.window, latest.atMs);
      return () => listeners.delete(listener);
    },
    stop: () => stopChild(child),
  };
}
