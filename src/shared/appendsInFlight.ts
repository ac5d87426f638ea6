/**
 * The appends a session has in flight, so that `flush()` can wait for them
 * all, those that begin while it waits included. Each settled append leaves.
 */
export class AppendsInFlight {
  readonly #pending = new Set<Promise<unknown>>();

  /** Tracks `append` until it settles, either way; returns it unchanged. */
  track<T>(append: Promise<T>): Promise<T> {
    const settled = append.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(settled);
    void settled.then(() => this.#pending.delete(settled));
    return append;
  }

  /** Resolves once no append is in flight (it never rejects: each append's caller hears its own outcome). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}
