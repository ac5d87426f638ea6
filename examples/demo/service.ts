/**
 * The memory service's child-process entry, forked by `startServiceProcess`
 * (with `--import tsx`). It waits for `start` over IPC, answers `listening`,
 * then reports each phase change; `stop` closes it. It exits when its parent
 * goes away, however that happens, so a SIGKILLed demo leaves no orphan
 * holding the port.
 */
import { createMemoryService, type MemoryService } from './memoryService.js';
import { scenarioFromWire } from './scenario.js';
import type { ServiceCommand, ServiceEvent } from './serviceProcess.js';

// The IPC channel closes when the parent dies, even by SIGKILL.
process.on('disconnect', () => process.exit(0));

if (process.send === undefined) {
  console.error('service.ts runs as a child process: start it with startServiceProcess()');
  process.exit(2);
}

let starting: Promise<MemoryService> | undefined;

function report(event: ServiceEvent): void {
  if (process.connected) process.send?.(event);
}

function die(error: unknown): never {
  console.error('memory service:', error);
  process.exit(1);
}

async function start(command: Extract<ServiceCommand, { type: 'start' }>): Promise<MemoryService> {
  const scenario = scenarioFromWire(command.scenario);
  const service = await createMemoryService({ file: command.file, scenario, onError: die });
  report({ type: 'listening', port: service.port, atMs: service.elapsed() });
  service.onPhase((window, atMs) => {
    report({
      type: 'phase',
      name: window.name,
      outage: window.outage,
      atMs,
      index: scenario.windows.indexOf(window),
    });
  });
  return service;
}

process.on('message', (message: ServiceCommand | null) => {
  if (message?.type === 'start' && starting === undefined) {
    starting = start(message);
    starting.catch(die);
  } else if (message?.type === 'stop') {
    const closed = starting?.then((service) => service.close()) ?? Promise.resolve();
    closed.then(() => process.exit(0), die);
  }
});
