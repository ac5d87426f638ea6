import type { InspectionEvent, Observer } from 'xstate';

/**
 * An XState inspector: a callback, an observer, or `inspector.inspect` from
 * `@statelyai/inspect`. Passed through to `createActor`.
 */
export type Inspect = Observer<InspectionEvent> | ((event: InspectionEvent) => void);
