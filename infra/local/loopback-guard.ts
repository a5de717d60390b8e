/**
 * Who may talk to the local cloud: programs on this machine, not web pages. Every server listens
 * on 127.0.0.1 only, but the browser runs on this machine too. A page of any site can send a
 * form POST to 127.0.0.1 (a "simple" request: no preflight, the server acts before the browser
 * decides whether the page may read the answer), and through DNS rebinding (a name of the
 * attacker's that first resolves to their server, then to 127.0.0.1) it can even read answers.
 * Both show in the headers: a rebound request names the attacker's host in `Host`, and a
 * cross-site request carries the page's `Origin`. So a request is refused when its Host is not
 * a loopback name or address, or when it carries an Origin that is not a loopback origin.
 * Clients outside browsers (curl, the dsn CLI, the AWS SDKs and CLI) send no Origin and name
 * the endpoint they were given, 127.0.0.1 or localhost, in Host, so they pass.
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * `localhost` and every `*.localhost` name are loopback by definition (RFC 6761; browsers never
 * ask DNS for them, so no attacker controls one), which is also how S3 clients name a bucket in
 * virtual-hosted style (`bucket.localhost:4566`); IPv4 127.0.0.0/8; IPv6 ::1.
 */
function isLoopbackHostname(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === '[::1]' || name === '::1') return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return octets?.slice(1).every((o) => Number(o) <= 255) ?? false;
}

/** A `Host` header value (`name[:port]`, `[v6]:port`) naming this machine. */
export function isLoopbackHost(host: string): boolean {
  // Only a name and a port: "evil.example@127.0.0.1" would parse as 127.0.0.1 below.
  if (!/^[a-z0-9.\-_[\]:]+$/i.test(host)) return false;
  try {
    return isLoopbackHostname(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

/** An `Origin` header value of a page served from this machine. `null` (sandboxed) is not. */
export function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHostname(url.hostname)
    );
  } catch {
    return false;
  }
}

/** Why a request with these headers is refused, or undefined when it may pass. */
export function loopbackRefusal(headers: IncomingHttpHeaders): string | undefined {
  const { host, origin } = headers;
  // No Host at all cannot come from a browser (every browser request names one).
  if (host !== undefined && !isLoopbackHost(host)) {
    return `Host "${host.slice(0, 100)}" is not this machine: the local cloud answers only requests to 127.0.0.1, localhost or [::1]`;
  }
  if (origin !== undefined && !isLoopbackOrigin(origin)) {
    return `Origin "${origin.slice(0, 100)}" is not this machine: the local cloud refuses requests from web pages of other sites`;
  }
  return undefined;
}
