/**
 * A shared store whose server can be "cut off" by the test: while `down`,
 * every call (open included) rejects with a `BacklogUnavailableError`, as a
 * real store's does when its server is unreachable; nothing is changed.
 */
import { BacklogUnavailableError } from '../../src/index.js';
import type { SharedBacklog, SharedBacklogStore } from '../../src/shared/types.js';

export interface Switchable {
  readonly store: SharedBacklogStore;
  down: boolean;
  /** Resolves at the next call that reaches the store. */
  nextAnswer(): Promise<void>;
  /** Resolves at the next call refused for being down. */
  nextRefusal(): Promise<void>;
}

export function switchable(inner: SharedBacklogStore): Switchable {
  let answers: (() => void)[] = [];
  let refusals: (() => void)[] = [];
  const state = {
    down: false,
    nextAnswer: () => new Promise<void>((resolve) => answers.push(resolve)),
    nextRefusal: () => new Promise<void>((resolve) => refusals.push(resolve)),
  };
  const pass = async <T>(call: () => Promise<T>): Promise<T> => {
    if (state.down) {
      const waiting = refusals;
      refusals = [];
      for (const resolve of waiting) resolve();
      throw new BacklogUnavailableError(
        inner.location,
        'connect ECONNREFUSED (cut off by the test)',
      );
    }
    const result = await call();
    const waiting = answers;
    answers = [];
    for (const resolve of waiting) resolve();
    return result;
  };
  const wrap = (session: SharedBacklog): SharedBacklog =>
    new Proxy(session, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== 'function' || name === 'close') return value;
        return (...args: unknown[]) => pass(() => value.apply(target, args));
      },
    });
  const store: SharedBacklogStore = {
    kind: 'shared',
    location: inner.location,
    open: (options) => pass(() => inner.open(options)).then(wrap),
  };
  return Object.assign(state, { store });
}
