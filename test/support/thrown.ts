/** What `make` threw, if anything: for checking an error's class and fields, not just its message. */
export function thrownBy(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}
