import { describe, expect, it } from 'vitest';
import { cheapErrors } from '../src/errors/index.js';
import {
  BreakerHalfOpenError,
  BreakerOpenError,
  QueueOverflowError,
  SyncWorkerError,
  TaskTimeoutError,
} from '../src/index.js';
import { controlledTask, failureOf } from './support/tasks.js';
import { simulatedWorker } from './support/worker.js';

describe('cheapErrors: the hot paths’ errors, made without a stack capture', () => {
  it('makes instances of the class, its parents and Error, named by the class', () => {
    const error = cheapErrors(BreakerHalfOpenError)('probe in flight');
    expect(error).toBeInstanceOf(BreakerHalfOpenError);
    expect(error).toBeInstanceOf(BreakerOpenError);
    expect(error).toBeInstanceOf(SyncWorkerError);
    expect(error).toBeInstanceOf(Error);
    expect(error.constructor).toBe(BreakerHalfOpenError);
    expect(error.name).toBe('BreakerHalfOpenError');
    expect(error.message).toBe('probe in flight');
    expect(String(error)).toBe('BreakerHalfOpenError: probe in flight');
  });

  it('makes a new instance per call, with no own stack: the getter names the cause', () => {
    const make = cheapErrors(QueueOverflowError);
    const first = make('one');
    const second = make('two');
    expect(first).not.toBe(second);
    expect(Object.hasOwn(first, 'stack')).toBe(false);
    expect(first.stack).toBe(
      'QueueOverflowError: one\n    (raised by xstate-sync-worker; no call stack is captured on this path)',
    );
    expect(second.message).toBe('two');
  });

  it('lets a caller set stack on one instance only', () => {
    const make = cheapErrors(QueueOverflowError);
    const error = make('one');
    error.stack = 'rewritten';
    expect(error.stack).toBe('rewritten');
    expect(make('two').stack).toContain('no call stack is captured');
  });

  it('gives each timed-out run its own TaskTimeoutError with its timeoutMs', async () => {
    const { worker, clock } = simulatedWorker({ latencyTracker: { defaultMs: 100 } });
    const a = controlledTask();
    const b = controlledTask();
    worker.enqueue(a.task);
    worker.enqueue(b.task);
    await a.started;
    clock.increment(100);
    await b.started;
    clock.increment(100);
    const errors = [failureOf(a.fates), failureOf(b.fates)];
    expect(errors[0]).not.toBe(errors[1]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(TaskTimeoutError);
      expect((error as TaskTimeoutError).timeoutMs).toBe(100);
      expect(error?.message).toBe('task timed out after 100 ms');
      expect(Object.hasOwn(error as object, 'stack')).toBe(false);
    }
  });
});
