/**
 * Request bodies at the HTTP boundary: JSON only (by content type), parsed once; then the wire's
 * snake_case names (or lowerCamelCase, which docs/WIRE.md "REST" also accepts) of a wire schema
 * (passwordless/wire-schemas.ts) are picked into the camelCase object core parses and validates.
 * Only known fields are copied, so odd keys such as `__proto__` never reach an object's prototype.
 */
import type { IncomingMessage } from 'node:http';
import { invalidArgument } from '@sesame/core';
import type { Context } from 'hono';
import type { FieldMap } from '../passwordless/wire-schemas.js';
import { TransportError } from './error-handler.js';

function tooLarge(limit: number): TransportError {
  return new TransportError(413, 'PAYLOAD_TOO_LARGE', `The request body must be at most ${limit} bytes.`);
}

/**
 * The chunks of one body up to `limit` bytes, whichever way they are read: 413 as soon as the
 * declared Content-Length, or the bytes received so far, pass the limit.
 */
function limitedBody(
  limit: number,
  contentLength: string | undefined,
): { readonly add: (chunk: Uint8Array) => void; readonly text: () => string } {
  if (Number(contentLength ?? NaN) > limit) throw tooLarge(limit);
  const chunks: Uint8Array[] = [];
  let size = 0;
  return {
    add: (chunk) => {
      size += chunk.byteLength;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk);
    },
    text: () => Buffer.concat(chunks, size).toString('utf8'),
  };
}

/**
 * The body as UTF-8 text, refused (413) beyond `limit` bytes whether or not a Content-Length was
 * sent. Under @hono/node-server the Node request stream is read directly: building a WHATWG
 * Request (AbortController, web stream) just to read a small JSON body costs more than the rest
 * of a verify.
 */
export async function readBodyText(c: Context, limit: number): Promise<string> {
  const body = limitedBody(limit, c.req.header('content-length'));
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) {
    await readIncoming(incoming, body.add);
    return body.text();
  }
  const reader = c.req.raw.body?.getReader();
  if (!reader) return '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    try {
      body.add(value);
    } catch (error) {
      await reader.cancel();
      throw error;
    }
  }
  return body.text();
}

/**
 * Feeds `add` every chunk of a Node request body. Plain 'data'/'end' listeners rather than
 * `for await`: the async iterator builds a stream-end watcher and a promise per chunk, a visible
 * share of a small request's cost. A refusal from `add` (too large) stops reading and is thrown
 * as is; the client going away, or the request timeout cutting it mid-body, is a 400.
 */
function readIncoming(incoming: IncomingMessage, add: (chunk: Uint8Array) => void): Promise<void> {
  if (incoming.readableEnded) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onBroken);
      incoming.off('close', onBroken);
    };
    const onData = (chunk: Uint8Array): void => {
      try {
        add(chunk);
      } catch (error) {
        cleanup();
        // Drain what is left so the connection can still carry the 413.
        incoming.resume();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve();
    };
    const onBroken = (): void => {
      cleanup();
      reject(new TransportError(400, 'BAD_REQUEST', 'The request body was not received whole.'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onBroken);
    incoming.on('close', onBroken);
  });
}

export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const type = header.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** The body parsed as JSON: refused (400) unless the content type says JSON, before it is read. */
export async function readJsonBody(c: Context, limit: number): Promise<unknown> {
  if (!isJsonContentType(c.req.header('content-type'))) {
    throw invalidArgument([{ field: 'body', description: 'must be JSON (Content-Type: application/json)' }]);
  }
  const text = await readBodyText(c, limit);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidArgument([{ field: 'body', description: 'is not valid JSON' }]);
  }
}

/**
 * Picks the known fields of a JSON object under their core names. `null` counts as absent, as in
 * proto3's JSON mapping. A non-object body is passed through for core to refuse with its message.
 */
export function pickFields(body: unknown, fields: FieldMap): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const source = body as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [wire, core] of Object.entries(fields)) {
    const value = Object.hasOwn(source, wire) ? source[wire] : Object.hasOwn(source, core) ? source[core] : undefined;
    if (value !== undefined && value !== null) out[core] = value;
  }
  return out;
}
