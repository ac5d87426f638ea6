import type { SyncTask, TaskContext } from '../../src/index.js';

/** What happened to a task: the callbacks it received, in order. */
export type Fate = { kind: 'success'; value: unknown } | { kind: 'failure'; error: Error };

/** The error of a task's first fate, if that fate was a failure. */
export function failureOf(fates: readonly Fate[]): Error | undefined {
  const first = fates[0];
  return first?.kind === 'failure' ? first.error : undefined;
}

/** A task whose `run` the test settles by hand, recording every callback it gets. */
export interface ControlledTask<T = unknown> {
  task: SyncTask<T>;
  /** Resolves with the task's context when `run` is called. */
  started: Promise<TaskContext>;
  /** Whether `run` has been called. */
  readonly hasStarted: boolean;
  resolve(value: T): void;
  reject(error: unknown): void;
  /** Every callback the task received; exactly one is expected. */
  fates: Fate[];
}

/** Builds a {@link ControlledTask}; its `run` returns a promise the test settles. */
export function controlledTask<T = unknown>(name = 'task'): ControlledTask<T> {
  let markStarted!: (context: TaskContext) => void;
  const started = new Promise<TaskContext>((resolve) => {
    markStarted = resolve;
  });
  let settle!: { resolve(value: T): void; reject(error: unknown): void };
  let hasStarted = false;
  const fates: Fate[] = [];
  const task: SyncTask<T> = {
    name,
    run(context) {
      hasStarted = true;
      markStarted(context);
      return new Promise<T>((resolve, reject) => {
        settle = { resolve, reject };
      });
    },
    onSuccess: (value) => fates.push({ kind: 'success', value }),
    onFailure: (error) => fates.push({ kind: 'failure', error }),
  };
  return {
    task,
    started,
    get hasStarted() {
      return hasStarted;
    },
    resolve: (value) => settle.resolve(value),
    reject: (error) => settle.reject(error),
    fates,
  };
}

/** A task that records its fate and settles as `run` says. */
export function recordingTask<T>(
  run: SyncTask<T>['run'],
  name = 'task',
): { task: SyncTask<T>; fates: Fate[] } {
  const fates: Fate[] = [];
  return {
    fates,
    task: {
      name,
      run,
      onSuccess: (value) => fates.push({ kind: 'success', value }),
      onFailure: (error) => fates.push({ kind: 'failure', error }),
    },
  };
}

/**
 * Lets pending promise callbacks run. The worker settles tasks in promise
 * callbacks, so after a task's promise settles the test waits for them, not
 * for time: this resolves after the microtask queue is drained.
 */
export function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A logger that records what it is told. */
export function recordingLogger() {
  const lines: { level: string; message: string; details: unknown[] }[] = [];
  const at =
    (level: string) =>
    (message: string, ...details: unknown[]) =>
      lines.push({ level, message, details });
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
}
