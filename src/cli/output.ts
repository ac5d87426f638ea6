/** Where the command line writes: `process.stdout`, or anything with a `write` (tests). */
export interface CliOutput {
  write(chunk: string): unknown;
  /** When present and `write` returns `false`, output waits for `'drain'` (backpressure). */
  once?(event: 'drain', listener: () => void): unknown;
}

/** The command line's outputs and clock. */
export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  /** Wall-clock ms for ages. Default: `Date.now`. */
  now?: () => number;
}

/** Writes text, waiting for `'drain'` when the output asks for it. */
export async function write(out: CliOutput, text: string): Promise<void> {
  if (out.write(text) === false && out.once !== undefined) {
    const once = out.once.bind(out);
    await new Promise<void>((done) => once('drain', done));
  }
}

/** Writes lines in chunks of about 64 KiB, so large exports neither buffer whole nor write per line. */
export async function writeLines(out: CliOutput, lines: Iterable<string>): Promise<void> {
  let chunk = '';
  for (const line of lines) {
    chunk += `${line}\n`;
    if (chunk.length >= 65_536) {
      await write(out, chunk);
      chunk = '';
    }
  }
  if (chunk !== '') await write(out, chunk);
}

/** `1 task`, `2 tasks`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
