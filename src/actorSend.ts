import type { AnyActorRef } from 'xstate';

/**
 * Sends `event` only while `actor` is active. A facade whose actor has stopped
 * (disposed, or its worker shut down) stays usable and inert, instead of
 * sending events to a stopped actor, which XState warns about.
 */
export function sendIfActive<A extends AnyActorRef>(
  actor: A,
  event: Parameters<A['send']>[0],
): void {
  if (actor.getSnapshot().status === 'active') actor.send(event);
}
