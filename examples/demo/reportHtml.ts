/**
 * Small text helpers the report's modules share: escaping what they
 * interpolate into HTML/SVG, and writing numbers that are always finite.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML or SVG content and for quoted attribute values. */
export function escapeHtml(text: string | number | boolean): string {
  return String(text).replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/**
 * A coordinate for an SVG attribute, to 0.1 px. Anything not finite becomes
 * 0: a single `NaN` makes the browser drop the whole shape, which would hide
 * a bug in the data as a silently missing line.
 */
export function coord(value: number): string {
  if (!Number.isFinite(value)) return '0';
  const rounded = Math.round(value * 10) / 10;
  // `-0` prints as `0`, but keep the output tidy for rounding like -0.04.
  return String(rounded === 0 ? 0 : rounded);
}

/** Milliseconds as seconds for people: `12.3 s`. */
export function formatSeconds(ms: number, digits = 1): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(digits)} s` : '∞';
}

/** Milliseconds for people: `850 ms`, `1.52 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return ms >= 10 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}
