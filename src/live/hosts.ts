import { isIP } from 'node:net';

/** Whether `host` names this machine only: `localhost`, 127.0.0.0/8 or `::1`. */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase();
  if (name === 'localhost' || name === '::1') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}

/** `host:port` as a browser writes it in the `Host` header: IPv6 addresses in brackets. */
export function hostWithPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`.toLowerCase();
}

/**
 * The `Host` header values the live view answers: the address it is bound
 * to with its port, `localhost` too when that address is a loopback one,
 * and the names the user listed (`name` gets the port added; `name:port` is
 * taken as written). Anything else is refused: a page on another site that
 * made its own name resolve to this address (DNS rebinding) still sends
 * its own name.
 */
export function allowedHosts(host: string, port: number, extra: readonly string[]): Set<string> {
  const allowed = new Set([hostWithPort(host, port)]);
  if (isLoopback(host)) allowed.add(hostWithPort('localhost', port));
  for (const name of extra) allowed.add(withPortUnlessGiven(name, port));
  return allowed;
}

/** `name:port` or `[v6]:port` as written; a bare name or address gets `port`. */
function withPortUnlessGiven(name: string, port: number): string {
  const hasPort = isIP(name) === 0 && /^(\[[^\]]+\]|[^:]+):\d+$/.test(name);
  return hasPort ? name.toLowerCase() : hostWithPort(name.replace(/^\[|\]$/g, ''), port);
}

/** Whether a request's `Host` header is one of `allowed` (case-insensitive; a missing header is refused). */
export function hostAllowed(header: string | undefined, allowed: ReadonlySet<string>): boolean {
  return header !== undefined && allowed.has(header.trim().toLowerCase());
}
