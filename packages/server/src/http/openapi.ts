/** The OpenAPI 3.1 description of every route this server answers (served at /openapi.json). */
import { ERROR_CODES } from '@sesame/core';
import { ADMIN_SCHEMAS, ADMIN_SECURITY_SCHEMES, adminOpenApiPaths } from '../admin/openapi.js';
import { TRANSPORT_ERROR_CODES } from './error-handler.js';

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });
const requestIdHeader = { 'x-request-id': { description: 'Request id (also in error bodies and logs).', schema: { type: 'string' } } };

const apiErrors = {
  '400': errorResponse('INVALID_ARGUMENT, REDIRECT_URI_NOT_ALLOWED, INVALID_CREDENTIAL, EXPIRED, ALREADY_USED, SAME_BROWSER_REQUIRED'),
  '401': errorResponse('UNAUTHENTICATED: missing, invalid or expired access token'),
  '413': errorResponse('PAYLOAD_TOO_LARGE'),
  '429': {
    description: 'SEND_LIMIT_EXCEEDED or TOO_MANY_ATTEMPTS',
    headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } },
    content: json(ref('Error')),
  },
  '500': errorResponse('INTERNAL (no details; quote the request id)'),
};

export function openApiDocument(options: { publicUrl: string; devInbox: boolean }): object {
  const paths: Record<string, object> = {
    '/oauth/token': {
      post: {
        summary: 'OAuth 2.0 client credentials: exchange a client id and secret for an access token',
        security: [{}, { clientBasic: [] }],
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': { schema: ref('TokenRequest') },
            'application/json': { schema: ref('TokenRequest') },
          },
        },
        responses: {
          '200': { description: 'Access token (JWT, HS256)', headers: requestIdHeader, content: json(ref('TokenResponse')) },
          '400': { description: 'invalid_request or unsupported_grant_type', content: json(ref('OAuthError')) },
          '401': { description: 'invalid_client', content: json(ref('OAuthError')) },
        },
      },
    },
    '/api/v1/passwordless/email/send': {
      post: {
        summary: 'Create an auth request and email a magic link and/or a one-time code',
        security: [{ bearer: [] }],
        requestBody: { required: true, content: json(ref('SendRequest')) },
        responses: { '200': { description: 'Queued', headers: requestIdHeader, content: json(ref('SendResponse')) }, ...apiErrors },
      },
    },
    '/api/v1/passwordless/email/verify': {
      post: {
        summary: 'Verify a code (with auth_request_id) or a link token; consumes the auth request',
        security: [{ bearer: [] }],
        requestBody: { required: true, content: json(ref('VerifyRequest')) },
        responses: {
          '200': { description: 'Verified', headers: requestIdHeader, content: json(ref('VerifyResponse')) },
          '404': errorResponse('AUTH_REQUEST_NOT_FOUND'),
          ...apiErrors,
        },
      },
    },
    '/api/v1/passwordless/email/resend': {
      post: {
        summary: 'Email fresh credentials for a pending auth request (old ones stop working)',
        security: [{ bearer: [] }],
        requestBody: { required: true, content: json(ref('ResendRequest')) },
        responses: {
          '200': { description: 'Queued', headers: requestIdHeader, content: json(ref('SendResponse')) },
          '404': errorResponse('AUTH_REQUEST_NOT_FOUND'),
          ...apiErrors,
        },
      },
    },
    '/healthz': {
      get: { summary: 'Liveness: the process answers', responses: { '200': { description: 'Up', content: json({ type: 'object' }) } } },
    },
    '/readyz': {
      get: {
        summary: 'Readiness: the store is reachable and migrated',
        responses: { '200': { description: 'Ready', content: json({ type: 'object' }) }, '503': { description: 'Not ready' } },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        responses: { '200': { description: 'Text exposition format', content: { 'text/plain': {} } } },
      },
    },
    '/openapi.json': {
      get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } } },
    },
    ...adminOpenApiPaths(),
  };
  if (options.devInbox) {
    paths['/admin/api/dev-inbox'] = {
      get: {
        summary: 'Development inbox (no SMTP URL set): latest emails, newest first',
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } }],
        responses: {
          '200': {
            description: 'Messages',
            content: json({ type: 'object', properties: { messages: { type: 'array', items: ref('DevInboxMessage') } } }),
          },
        },
      },
    };
    paths['/admin/api/dev-inbox/{id}'] = {
      get: {
        summary: 'One development inbox message',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'Message', content: json(ref('DevInboxMessage')) }, '404': errorResponse('NOT_FOUND') },
      },
    };
    paths['/dev/inbox'] = {
      get: { summary: 'Development inbox as an HTML page', responses: { '200': { description: 'HTML', content: { 'text/html': {} } } } },
    };
  }

  return {
    openapi: '3.1.0',
    info: { title: 'Sesame', version: '0.1.0', description: "Passwordless email sign-in speaking Scalekit's passwordless API." },
    servers: [{ url: options.publicUrl }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        clientBasic: { type: 'http', scheme: 'basic' },
        ...ADMIN_SECURITY_SCHEMES,
      },
      schemas: {
        ...ADMIN_SCHEMAS,
        TokenRequest: {
          type: 'object',
          required: ['grant_type'],
          properties: { grant_type: { const: 'client_credentials' }, client_id: { type: 'string' }, client_secret: { type: 'string' } },
        },
        TokenResponse: {
          type: 'object',
          required: ['access_token', 'token_type', 'expires_in'],
          properties: { access_token: { type: 'string' }, token_type: { const: 'Bearer' }, expires_in: { type: 'integer' } },
        },
        OAuthError: {
          type: 'object',
          required: ['error'],
          properties: {
            error: { enum: ['invalid_request', 'invalid_client', 'unsupported_grant_type'] },
            error_description: { type: 'string' },
          },
        },
        SendRequest: {
          type: 'object',
          required: ['email'],
          description: 'snake_case names; lowerCamelCase accepted too.',
          properties: {
            email: { type: 'string', format: 'email', maxLength: 320 },
            template: { enum: ['SIGNIN', 'SIGNUP'], default: 'SIGNIN' },
            magiclink_auth_uri: { type: 'string', minLength: 1, maxLength: 1000 },
            state: { type: 'string', minLength: 1, maxLength: 1000 },
            expires_in: { type: 'integer', description: '60–3600 seconds; 0 or absent = policy default' },
            template_variables: { type: 'object', maxProperties: 30, additionalProperties: { type: 'string', maxLength: 256 } },
          },
        },
        SendResponse: {
          type: 'object',
          required: ['auth_request_id', 'expires_at', 'expires_in', 'passwordless_type'],
          properties: {
            auth_request_id: { type: 'string' },
            expires_at: { type: 'integer', description: 'seconds since the epoch' },
            expires_in: { type: 'integer' },
            passwordless_type: { enum: ['OTP', 'LINK', 'LINK_OTP'] },
          },
        },
        VerifyRequest: {
          type: 'object',
          description: 'Exactly one of code / link_token; auth_request_id is required with a code.',
          properties: {
            code: { type: 'string', minLength: 1, maxLength: 20 },
            link_token: { type: 'string', minLength: 1, maxLength: 100 },
            auth_request_id: { type: 'string', maxLength: 200 },
          },
        },
        VerifyResponse: {
          type: 'object',
          required: ['email', 'template', 'passwordless_type'],
          properties: {
            email: { type: 'string' },
            state: { type: 'string' },
            template: { enum: ['SIGNIN', 'SIGNUP'] },
            passwordless_type: { enum: ['OTP', 'LINK', 'LINK_OTP'] },
          },
        },
        ResendRequest: {
          type: 'object',
          required: ['auth_request_id'],
          properties: { auth_request_id: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'request_id', 'field_violations'],
              properties: {
                code: { enum: [...ERROR_CODES, ...TRANSPORT_ERROR_CODES] },
                message: { type: 'string' },
                request_id: { type: 'string' },
                field_violations: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['field', 'description'],
                    properties: { field: { type: 'string' }, description: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
        DevInboxMessage: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            outbox_id: { type: ['string', 'null'] },
            to: { type: 'string' },
            from: { type: 'string' },
            subject: { type: 'string' },
            text: { type: 'string' },
            html: { type: 'string' },
            created_at: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
  };
}
