/**
 * Runs a fleet of member processes (test/fleet/member.ts) on one real store
 * and acts on them as the fleet tests ask: SIGKILL a worker mid-handler,
 * SIGSTOP one past its lease and SIGCONT it, restart the server. Everything
 * waits on the members' IPC messages, never on time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { logEvent } from './history.js';
import type { MemberMessage, MemberSettings } from './member.js';

const MEMBER = fileURLToPath(new URL('./member.ts', import.meta.url));

/** A running member process. */
export interface Member {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stderr: string;
}

/** Starts a member with `settings`; `onMessage` hears its IPC messages. */
export function startMember(
  settings: MemberSettings & { holds?: number[] },
  onMessage: (member: Member, message: MemberMessage) => void,
): Member {
  const child = spawn(process.execPath, ['--import', 'tsx', MEMBER, JSON.stringify(settings)], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  const member: Member = {
    name: settings.name,
    child,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    stderr: '',
  };
  child.stderr?.on('data', (chunk: Buffer) => {
    member.stderr += chunk.toString();
  });
  child.on('message', (message) => onMessage(member, message as MemberMessage));
  return member;
}

/** Waits until `check` holds, re-checked on every call of the returned `poke`. */
export function condition(check: () => boolean): { reached: Promise<void>; poke: () => void } {
  let resolve: () => void = () => undefined;
  const reached = new Promise<void>((r) => {
    resolve = r;
  });
  const poke = () => {
    if (check()) resolve();
  };
  return { reached, poke };
}

/** Logs the fault, then SIGKILLs the member. */
export function kill(log: string, member: Member): void {
  logEvent(log, { type: 'fault', kind: 'kill', worker: member.name });
  member.child.kill('SIGKILL');
}

/** Logs the fault, then SIGSTOPs the member; the returned function SIGCONTs it. */
export function pause(log: string, member: Member): () => void {
  logEvent(log, { type: 'fault', kind: 'pause', worker: member.name });
  member.child.kill('SIGSTOP');
  return () => member.child.kill('SIGCONT');
}
