/**
 * The OpenAPI 3.1 description of every route this server answers (served at /openapi.json). The
 * bodies' JSON Schemas are generated from the wire schemas (passwordless/, admin/, ops/
 * wire-schemas.ts, http/error-schema.ts); packages/server/test/openapi.test.ts checks real answers
 * of every route against it.
 */
import { ADMIN_SECURITY_SCHEMES, adminOpenApiPaths, devInboxOpenApiPaths } from '../admin/openapi.js';
import { ADMIN_CATALOG } from '../admin/wire-schemas.js';
import { OPS_CATALOG, healthSchema, notReadySchema, readySchema } from '../ops/wire-schemas.js';
import {
  PASSWORDLESS_CATALOG,
  oauthErrorSchema,
  resendRequestSchema,
  sendRequestSchema,
  sendResponseSchema,
  tokenRequestSchema,
  tokenResponseSchema,
  verifyRequestSchema,
  verifyResponseSchema,
} from '../passwordless/wire-schemas.js';
import {
  BODY_ANSWERS,
  ERROR_CATALOG,
  LIMIT_ANSWER,
  STORE_ANSWERS,
  buildComponents,
  buildPaths,
  errorAnswer,
  type AnswerSpec,
  type OperationSpec,
  type PathSpecs,
} from './openapi-builder.js';

const API_ERRORS = {
  ...BODY_ANSWERS,
  '400': errorAnswer('INVALID_ARGUMENT, REDIRECT_URI_NOT_ALLOWED, INVALID_CREDENTIAL, EXPIRED, ALREADY_USED, SAME_BROWSER_REQUIRED'),
  '401': errorAnswer('UNAUTHENTICATED: missing, invalid or expired access token'),
  '429': LIMIT_ANSWER,
  ...STORE_ANSWERS,
};
const NOT_FOUND = { '404': errorAnswer('AUTH_REQUEST_NOT_FOUND') };

function apiCall(summary: string, body: OperationSpec['body'], ok: AnswerSpec, extra: Record<string, AnswerSpec> = {}): OperationSpec {
  return { summary, security: [{ bearer: [] }], body, answers: { '200': ok, ...API_ERRORS, ...extra } };
}

function publicPaths(): PathSpecs {
  const oauthError = (description: string): AnswerSpec => ({ description, body: oauthErrorSchema });
  return {
    '/oauth/token': {
      post: {
        summary: 'OAuth 2.0 client credentials: exchange a client id and secret for an access token',
        security: [{}, { clientBasic: [] }],
        body: tokenRequestSchema,
        bodyMedia: ['application/x-www-form-urlencoded'],
        answers: {
          '200': { description: 'Access token (JWT, HS256)', body: tokenResponseSchema },
          '400': oauthError('invalid_request or unsupported_grant_type'),
          '401': oauthError('invalid_client'),
          '413': errorAnswer('PAYLOAD_TOO_LARGE'),
          ...STORE_ANSWERS,
        },
      },
    },
    '/api/v1/passwordless/email/send': {
      post: apiCall('Create an auth request and email a magic link and/or a one-time code', sendRequestSchema, {
        description: 'Queued',
        body: sendResponseSchema,
      }),
    },
    '/api/v1/passwordless/email/verify': {
      post: apiCall(
        'Verify a code (with auth_request_id) or a link token; consumes the auth request',
        verifyRequestSchema,
        { description: 'Verified', body: verifyResponseSchema },
        NOT_FOUND,
      ),
    },
    '/api/v1/passwordless/email/resend': {
      post: apiCall(
        'Email fresh credentials for a pending auth request (old ones stop working)',
        resendRequestSchema,
        { description: 'Queued', body: sendResponseSchema },
        NOT_FOUND,
      ),
    },
    '/healthz': { get: { summary: 'Liveness: the process answers', answers: { '200': { description: 'Up', body: healthSchema } } } },
    '/readyz': {
      get: {
        summary: 'Readiness: the store is reachable and migrated',
        answers: { '200': { description: 'Ready', body: readySchema }, '503': { description: 'Not ready', body: notReadySchema } },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        security: [{}, { metricsBearer: [] }],
        answers: {
          '200': { description: 'Text exposition format', media: 'text/plain' },
          '401': errorAnswer('UNAUTHENTICATED: SESAME_METRICS_TOKEN is set and the bearer token is not it'),
          '500': STORE_ANSWERS['500'],
        },
      },
    },
    '/openapi.json': { get: { summary: 'This document', answers: { '200': { description: 'OpenAPI 3.1', media: 'application/json' } } } },
  };
}

let components: ReturnType<typeof buildComponents> | undefined;

export function openApiDocument(options: { publicUrl: string; devInbox: boolean }): object {
  // The schemas are the same for every app of this process: generated once.
  components ??= buildComponents([ERROR_CATALOG, PASSWORDLESS_CATALOG, OPS_CATALOG, ADMIN_CATALOG]);
  const specs: PathSpecs = { ...publicPaths(), ...adminOpenApiPaths(), ...(options.devInbox ? devInboxOpenApiPaths() : {}) };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sesame',
      version: '0.1.0',
      description:
        "Passwordless email sign-in speaking Scalekit's passwordless API. Every refusal carries the Error body, " +
        'including those answered before a route runs (400, 408, 417, 421, 431).',
    },
    servers: [{ url: options.publicUrl }],
    paths: buildPaths(specs, components.names),
    components: {
      ...components.components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        clientBasic: { type: 'http', scheme: 'basic' },
        metricsBearer: { type: 'http', scheme: 'bearer', description: 'SESAME_METRICS_TOKEN, when set' },
        ...ADMIN_SECURITY_SCHEMES,
      },
    },
  };
}
