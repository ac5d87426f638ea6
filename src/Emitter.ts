/** Turns off a listener added with `on`. */
export type Unsubscribe = () => void;

/**
 * A small typed event emitter. A listener that throws is reported to
 * `onListenerError` and never reaches the code that emitted, so one faulty
 * listener cannot break the worker or starve the other listeners.
 */
export class Emitter<Events extends object> {
  // Arrays are replaced, never mutated, so an emit in progress is unaffected by on/off.
  private readonly listeners: { [K in keyof Events]?: ((event: Events[K]) => void)[] } = {};

  constructor(
    private readonly types: readonly (keyof Events & string)[],
    private readonly onListenerError: (type: string, error: unknown) => void,
  ) {}

  on<K extends keyof Events>(type: K, listener: (event: Events[K]) => void): Unsubscribe {
    if (!this.types.includes(type as keyof Events & string)) {
      // A misspelt event name would otherwise be a listener that silently never fires.
      throw new TypeError(`unknown event "${String(type)}"; known: ${this.types.join(', ')}`);
    }
    if (typeof listener !== 'function') {
      throw new TypeError(`listener for "${String(type)}" must be a function`);
    }
    this.listeners[type] = [...(this.listeners[type] ?? []), listener];
    return () => {
      this.listeners[type] = this.listeners[type]?.filter((l) => l !== listener);
    };
  }

  /** Whether anyone listens, so callers can skip building an event nobody reads. */
  has(type: keyof Events): boolean {
    const list = this.listeners[type];
    return list !== undefined && list.length > 0;
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const list = this.listeners[type];
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(String(type), error);
      }
    }
  }
}
