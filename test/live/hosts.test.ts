import { describe, expect, it } from 'vitest';
import { allowedHosts, hostAllowed, isLoopback } from '../../src/live/hosts.js';

describe('the Host check', () => {
  const loopback = allowedHosts('127.0.0.1', 4321, []);

  it('answers the bound address and port, and localhost on a loopback bind', () => {
    expect(hostAllowed('127.0.0.1:4321', loopback)).toBe(true);
    expect(hostAllowed('LOCALHOST:4321', loopback)).toBe(true);
  });

  it.each([
    ['a rebinding site’s own name', 'attacker.example:4321'],
    ['the right name on another port', '127.0.0.1:80'],
    ['the address without its port', '127.0.0.1'],
    ['another loopback address', '127.0.0.2:4321'],
    ['an empty header', ''],
  ])('refuses %s', (_, header) => {
    expect(hostAllowed(header, loopback)).toBe(false);
  });

  it('refuses a request without a Host header', () => {
    expect(hostAllowed(undefined, loopback)).toBe(false);
  });

  it('writes IPv6 addresses in brackets, as browsers send them', () => {
    const v6 = allowedHosts('::1', 9000, []);
    expect(hostAllowed('[::1]:9000', v6)).toBe(true);
    expect(hostAllowed('localhost:9000', v6)).toBe(true);
    expect(hostAllowed('::1:9000', v6)).toBe(false);
  });

  it('answers the names the user listed, with the port added unless given', () => {
    const remote = allowedHosts('0.0.0.0', 8080, ['box.internal', 'proxy.internal:443', '::1']);
    expect(hostAllowed('0.0.0.0:8080', remote)).toBe(true);
    expect(hostAllowed('box.internal:8080', remote)).toBe(true);
    expect(hostAllowed('proxy.internal:443', remote)).toBe(true);
    expect(hostAllowed('[::1]:8080', remote)).toBe(true);
    // A wildcard bind is not loopback: localhost is answered only when listed.
    expect(hostAllowed('localhost:8080', remote)).toBe(false);
  });

  it('knows the loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', 'localhost']) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '127.example.com']) {
      expect(isLoopback(host), host).toBe(false);
    }
  });
});
