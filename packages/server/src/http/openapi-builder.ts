/**
 * OpenAPI 3.1 pieces from zod schemas: each API declares its operations with the schemas of its
 * wire module, and the JSON Schemas are generated from those (zod's `toJSONSchema`), so the
 * document cannot describe a body other than the one the server parses or writes.
 */
import { z } from 'zod';
import { errorBodySchema } from './error-schema.js';

type Schema = z.ZodType;

/**
 * Named schemas of one API. Request bodies are described as the server accepts them (zod's
 * input side: unknown fields allowed), answers as it writes them (output side: nothing more).
 */
export interface SchemaCatalog {
  readonly requests: Readonly<Record<string, Schema>>;
  readonly responses: Readonly<Record<string, Schema>>;
}

export interface HeaderSpec {
  readonly description: string;
  readonly required?: boolean;
  readonly schema: object;
}

export interface AnswerSpec {
  readonly description: string;
  /** A JSON body (a schema of a catalog); absent: no body, or `media`. */
  readonly body?: Schema;
  /** A body of another media type (text/html, text/plain…), not described further. */
  readonly media?: string;
  readonly headers?: Readonly<Record<string, HeaderSpec>>;
}

export interface OperationSpec {
  readonly summary: string;
  readonly security?: readonly object[];
  readonly parameters?: readonly object[];
  /** A JSON request body (a schema of a catalog). */
  readonly body?: Schema;
  /** More media types the same body is accepted as (the token endpoint's form encoding). */
  readonly bodyMedia?: readonly string[];
  readonly answers: Readonly<Record<string, AnswerSpec>>;
}

export type PathSpecs = Record<string, Partial<Record<'get' | 'post' | 'put' | 'delete', OperationSpec>>>;

const RETRY_AFTER: HeaderSpec = { description: 'Seconds to wait before trying again', schema: { type: 'integer' } };

export const ERROR_CATALOG: SchemaCatalog = { requests: {}, responses: { Error: errorBodySchema } };

export function errorAnswer(description: string, headers?: Readonly<Record<string, HeaderSpec>>): AnswerSpec {
  return { description, body: errorBodySchema, ...(headers ? { headers } : {}) };
}

/** Answers of a route that reads a JSON body. */
export const BODY_ANSWERS = {
  '400': errorAnswer('INVALID_ARGUMENT (field violations); BAD_REQUEST: the body was not received whole'),
  '413': errorAnswer('PAYLOAD_TOO_LARGE'),
} as const;

/** Answers of a route that reads or writes the store. */
export const STORE_ANSWERS = {
  '500': errorAnswer('INTERNAL: a bug, logged with the request id; no details'),
  '503': errorAnswer('UNAVAILABLE: the database could not be reached and nothing changed; safe to retry', {
    'Retry-After': { ...RETRY_AFTER, required: true },
  }),
} as const;

export const LIMIT_ANSWER = errorAnswer('SEND_LIMIT_EXCEEDED or TOO_MANY_ATTEMPTS', { 'Retry-After': RETRY_AFTER });

/** Refusals any route may answer before it runs (http/transport-errors.ts, http/host-check.ts). */
const TRANSPORT_RESPONSES = {
  MalformedRequest: errorAnswer('BAD_REQUEST: the request is not valid HTTP, or its URL cannot be read'),
  RequestTimeout: errorAnswer('REQUEST_TIMEOUT: the request was not received in time'),
  ExpectationFailed: errorAnswer('BAD_REQUEST: an Expect header other than 100-continue'),
  MisdirectedRequest: errorAnswer('MISDIRECTED_REQUEST: a Host this server does not answer for'),
  HeadersTooLarge: errorAnswer('HEADERS_TOO_LARGE'),
} as const;
const TRANSPORT_STATUSES: Readonly<Record<string, keyof typeof TRANSPORT_RESPONSES>> = {
  '400': 'MalformedRequest',
  '408': 'RequestTimeout',
  '417': 'ExpectationFailed',
  '421': 'MisdirectedRequest',
  '431': 'HeadersTooLarge',
};

const REQUEST_ID: HeaderSpec = {
  description: 'The request id (also in error bodies and logs)',
  required: true,
  schema: { type: 'string' },
};

const SCHEMA_REF = '#/components/schemas/';

function withoutHeader(schema: object): object {
  const rest: Record<string, unknown> = { ...schema };
  delete rest.$schema;
  delete rest.$id;
  return rest;
}

/** A catalog's JSON Schemas, without the per-schema `$schema` and `$id` zod adds (OpenAPI 3.1 assumes 2020-12). */
function jsonSchemas(schemas: Readonly<Record<string, Schema>>, io: 'input' | 'output'): Record<string, object> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { io, uri: (id) => `${SCHEMA_REF}${id}` }).schemas;
  const out: Record<string, object> = {};
  for (const [id, schema] of Object.entries(generated)) out[id] = withoutHeader(schema);
  return out;
}

/** The components and the name of each schema, from every API's catalog. */
export function buildComponents(catalogs: readonly SchemaCatalog[]): { components: object; names: ReadonlyMap<Schema, string> } {
  const names = new Map<Schema, string>();
  const schemas: Record<string, object> = {};
  for (const catalog of catalogs) {
    for (const [side, io] of [
      [catalog.requests, 'input'],
      [catalog.responses, 'output'],
    ] as const) {
      for (const [name, schema] of Object.entries(side)) {
        if (Object.hasOwn(schemas, name) || names.has(schema)) throw new Error(`OpenAPI schema ${name} is declared twice`);
        names.set(schema, name);
      }
      Object.assign(schemas, jsonSchemas(side, io));
    }
  }
  const responses = Object.fromEntries(Object.entries(TRANSPORT_RESPONSES).map(([name, answer]) => [name, response(answer, names)]));
  return {
    components: { schemas, responses, headers: { RequestId: header(REQUEST_ID) } },
    names,
  };
}

function header(spec: HeaderSpec): object {
  return { description: spec.description, ...(spec.required === true ? { required: true } : {}), schema: spec.schema };
}

function ref(schema: Schema, names: ReadonlyMap<Schema, string>): object {
  const name = names.get(schema);
  if (name === undefined) throw new Error('An OpenAPI body schema is in no catalog');
  return { $ref: `${SCHEMA_REF}${name}` };
}

function response(answer: AnswerSpec, names: ReadonlyMap<Schema, string>): object {
  const headers: Record<string, object> = { 'x-request-id': { $ref: '#/components/headers/RequestId' } };
  for (const [name, spec] of Object.entries(answer.headers ?? {})) headers[name] = header(spec);
  const content = answer.body ? { 'application/json': { schema: ref(answer.body, names) } } : answer.media ? { [answer.media]: {} } : null;
  return { description: answer.description, headers, ...(content ? { content } : {}) };
}

function operation(spec: OperationSpec, names: ReadonlyMap<Schema, string>): object {
  const responses: Record<string, object> = {};
  for (const [status, answer] of Object.entries(spec.answers)) responses[status] = response(answer, names);
  for (const [status, name] of Object.entries(TRANSPORT_STATUSES)) responses[status] ??= { $ref: `#/components/responses/${name}` };
  const bodySchema = spec.body ? ref(spec.body, names) : null;
  const media = ['application/json', ...(spec.bodyMedia ?? [])];
  return {
    summary: spec.summary,
    ...(spec.security ? { security: spec.security } : {}),
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(bodySchema
      ? { requestBody: { required: true, content: Object.fromEntries(media.map((type) => [type, { schema: bodySchema }])) } }
      : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
  };
}

export function buildPaths(specs: PathSpecs, names: ReadonlyMap<Schema, string>): Record<string, object> {
  const paths: Record<string, object> = {};
  for (const [path, methods] of Object.entries(specs)) {
    paths[path] = Object.fromEntries(Object.entries(methods).map(([method, spec]) => [method, operation(spec, names)]));
  }
  return paths;
}

/** Query parameters from an object schema: one parameter per property. */
export function queryParameters(schema: z.ZodObject): object[] {
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    ...(json.required?.includes(name) === true ? { required: true } : {}),
    schema: property,
  }));
}

export function pathParameter(name: string, schema: Schema): object {
  return { name, in: 'path', required: true, schema: withoutHeader(z.toJSONSchema(schema, { io: 'input' })) };
}
