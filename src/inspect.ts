import type { InspectionEvent, Observer } from 'xstate';

/**
 * An XState inspector: a callback, an observer, or `inspector.inspect` from
 * `@statelyai/inspect`. Passed through to `createActor`.
 */
export type Inspect = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/**
 * Wraps a user's inspector so that one that throws (at the first event or
 * later) is logged once and detached: XState would otherwise let the error
 * escape into the worker, and a constructor that threw would leave the
 * backlog open and locked.
 */
export function guardedInspect(
  inspect: Inspect | undefined,
  report: (error: unknown) => void,
): ((event: InspectionEvent) => void) | undefined {
  if (inspect === undefined) return undefined;
  let detached = false;
  return (event) => {
    if (detached) return;
    try {
      if (typeof inspect === 'function') inspect(event);
      else inspect.next?.(event);
    } catch (error) {
      detached = true;
      report(error);
    }
  };
}
