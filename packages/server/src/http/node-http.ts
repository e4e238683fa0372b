/**
 * Request and response headers on the hot path, read and written on Node's own request and
 * response objects when the app runs under @hono/node-server.
 *
 * Why: `c.req.header()` makes @hono/node-server build a WHATWG `Headers` from every raw header
 * of the request, and `c.header()` before the response exists builds another for the response;
 * undici validates each name and value through WebIDL converters. Those two objects were about
 * 5 % of a send's CPU. Node has already parsed, trimmed and lower-cased the request's headers,
 * and merges headers set with `setHeader` into the response hono hands it.
 *
 * The values are the ones `Headers` would give: a repeated header is joined with ", " in order
 * (`headersDistinct`, not `headers`, which keeps only the first `authorization`). Without a Node
 * request (`app.request()` in tests) or on HTTP/2's compatibility request, which has no
 * `headersDistinct`, hono's own accessors are used.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What these helpers use of hono's Context, whatever its route and input types. */
interface HeaderContext {
  readonly env: unknown;
  readonly req: { header(name: string): string | undefined };
  header(name: string, value: string): void;
}

interface NodeBindings {
  // HTTP/2's compatibility request has no headersDistinct: optional, unlike IncomingMessage's.
  readonly incoming?: Partial<Pick<IncomingMessage, 'headersDistinct'>>;
  readonly outgoing?: ServerResponse;
}

function bindings(c: HeaderContext): NodeBindings | undefined {
  return c.env as NodeBindings | undefined;
}

/** The request header `name` (lower case), as `c.req.header(name)` would give it. */
export function requestHeader(c: HeaderContext, name: string): string | undefined {
  const distinct = bindings(c)?.incoming?.headersDistinct;
  return distinct === undefined ? c.req.header(name) : joined(distinct[name]);
}

/** A header of Node's HTTP/1.x request (lower-case `name`), its repeats joined as `Headers` joins them. */
export function nodeRequestHeader(incoming: Pick<IncomingMessage, 'headersDistinct'>, name: string): string | undefined {
  return joined(incoming.headersDistinct[name]);
}

function joined(values: readonly string[] | undefined): string | undefined {
  return values === undefined ? undefined : values.join(', ');
}

/** Sets a response header for whatever response the handler returns, as `c.header(name, value)`. */
export function setResponseHeader(c: HeaderContext, name: string, value: string): void {
  const outgoing = bindings(c)?.outgoing;
  // Only an HTTP/1.1 response that has not started: past that, hono's way still applies.
  if (outgoing !== undefined && !outgoing.headersSent && bindings(c)?.incoming?.headersDistinct !== undefined) {
    outgoing.setHeader(name, value);
    return;
  }
  c.header(name, value);
}
