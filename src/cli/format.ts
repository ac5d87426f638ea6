/**
 * Text helpers of the command line: ages, one-line cells and aligned tables.
 *
 * @internal
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration for people, with its two largest units: `"0s"`, `"45s"`, `"3m 12s"`, `"2h 5m"`, `"3d 4h"`. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < SECOND) return '0s';
  const units: [number, string][] = [
    [DAY, 'd'],
    [HOUR, 'h'],
    [MINUTE, 'm'],
    [SECOND, 's'],
  ];
  const parts: string[] = [];
  let rest = Math.floor(ms);
  for (const [size, suffix] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${suffix}`);
    if (parts.length === 2) break;
  }
  // Drop a trailing zero unit: "3m" rather than "3m 0s".
  if (parts.length === 2 && parts[1]?.startsWith('0')) parts.pop();
  return parts.join(' ');
}

/** The age of something that happened at wall-clock `at`, or `"?"` when its time is unknown. */
export function ageSince(at: number, now: number): string {
  if (!Number.isFinite(at) || at <= 0) return '?';
  return formatAge(Math.max(0, now - at));
}

/** Text on one line: control characters (newlines, tabs, …) become escapes; empty shows as `""`. */
export function oneLine(text: string): string {
  if (text === '') return '""';
  return text.replace(/\p{Cc}/gu, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Rows aligned in columns separated by two spaces; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** An error's message on one line, for stderr. */
export function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
