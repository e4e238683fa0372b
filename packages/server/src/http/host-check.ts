/**
 * Which `Host` Sesame answers. A page on another site can point its own DNS name at 127.0.0.1
 * (DNS rebinding) and then read this server's answers as same-origin, e.g. the dev inbox with
 * every sign-in code. Such a request still names the attacker's host, so outside production
 * only these are answered, whatever the port:
 * - the host of SESAME_PUBLIC_URL;
 * - the loopback names `localhost`, `127.0.0.1` and `[::1]`;
 * - the names listed in SESAME_ALLOWED_HOSTS.
 * Other spellings of loopback (`2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]`, `localhost.`) are
 * not: a browser sends the canonical form, anything else is a hand-made request. Any other
 * `Host` gets 421 MISDIRECTED_REQUEST. In production the check is off unless
 * SESAME_ALLOWED_HOSTS is set (a reverse proxy usually settles the host; some health probes use
 * the instance's address); `*` turns it off everywhere. `/healthz` and `/readyz` are answered for
 * any host: probes call them by address, and they reveal nothing.
 *
 * A request with no `Host` at all is left to the usual handling (HTTP/1.1 answers 400).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { errorBody } from './error-handler.js';

export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];
const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);
/** `host[:port]`, the host a registered name, a dotted IPv4 or a bracketed IPv6 literal. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[^\s:[\]/\\@]+)(?::(\d{1,5}))?$/i;

export interface HostPolicy {
  readonly production: boolean;
  readonly publicUrl: string;
  /** SESAME_ALLOWED_HOSTS: more host names; `['*']` answers every host; undefined when unset. */
  readonly allowedHosts: readonly string[] | undefined;
}

/** The set of host names answered, or null when every host is. */
export function allowedHostNames(policy: HostPolicy): ReadonlySet<string> | null {
  const extra = policy.allowedHosts;
  if (extra?.includes('*') === true) return null;
  if (policy.production && extra === undefined) return null;
  return new Set([...LOOPBACK_HOSTS, new URL(policy.publicUrl).hostname, ...(extra ?? [])].map((name) => name.toLowerCase()));
}

/** The host name of a `Host` (or `:authority`) value, lower case, or null when it is malformed. */
export function hostNameOf(value: string): string | null {
  const match = HOST_HEADER.exec(value);
  if (match === null) return null;
  if (match[2] !== undefined && Number(match[2]) > 65_535) return null;
  return match[1]!.toLowerCase();
}

/** Whether a request naming `hosts` (every Host field it carries; none = empty) may be answered. */
export function hostAllowed(allowed: ReadonlySet<string> | null, hosts: readonly string[], path: string): boolean {
  if (allowed === null || hosts.length === 0) return true;
  if (PROBE_PATHS.has(path.split('?', 1)[0]!)) return true;
  // Two Host fields (or an :authority and a different Host) could be read differently by a proxy.
  if (hosts.some((host) => host !== hosts[0])) return false;
  const name = hostNameOf(hosts[0]!);
  return name !== null && allowed.has(name);
}

/** Every Host field of an HTTP/1.x request. */
export function http1Hosts(request: Pick<IncomingMessage, 'headersDistinct'>): string[] {
  return request.headersDistinct.host ?? [];
}

/** The `:authority` and every `host` field of an HTTP/2 request. */
export function http2Hosts(request: Pick<Http2ServerRequest, 'rawHeaders'>): string[] {
  const hosts: string[] = [];
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === ':authority' || name === 'host') hosts.push(raw[i + 1]!);
  }
  return hosts;
}

/**
 * 421 with the REST error body: this server does not answer for that host. On HTTP/1.1 the
 * connection is closed after it: the refused request's body is never read, so its bytes must not
 * be parsed as the next request on that connection.
 */
export function answerMisdirected(response: ServerResponse | Http2ServerResponse): void {
  const requestId = randomUUID();
  const body = JSON.stringify(
    errorBody(
      'MISDIRECTED_REQUEST',
      'This server does not answer for the Host of this request; set SESAME_PUBLIC_URL or SESAME_ALLOWED_HOSTS to serve it.',
      requestId,
    ),
  );
  response.writeHead(421, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    ...('stream' in response ? {} : { connection: 'close' }),
  });
  response.end(body);
}

/** Whether HOST (the listening interface) is reachable from the same host only. */
export function isLoopbackAddress(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}
