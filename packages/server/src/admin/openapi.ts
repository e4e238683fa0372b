/**
 * The admin API's part of /openapi.json, from the schemas of ./wire-schemas.ts
 * (docs/ADMIN_API.md is the prose contract).
 */
import { TEMPLATE_TYPES } from '@sesame/core';
import { z } from 'zod';
import {
  BODY_ANSWERS,
  STORE_ANSWERS,
  errorAnswer,
  pathParameter,
  queryParameters,
  type AnswerSpec,
  type OperationSpec,
  type PathSpecs,
} from '../http/openapi-builder.js';
import { devInboxListSchema, devInboxMessageSchema, devInboxQuerySchema } from '../ops/wire-schemas.js';
import * as wire from './wire-schemas.js';

const OPEN = [{}];
const SESSION = [{ adminSession: [] }];
const SESSION_CSRF = [{ adminSession: [], csrfToken: [] }];
const CSRF_ONLY = [{ csrfToken: [] }];

const json = (description: string, body: z.ZodType): AnswerSpec => ({ description, body });
const noSession = errorAnswer('UNAUTHENTICATED: no valid admin session');

/** A route behind the admin session: 401 without one. */
function read(summary: string, ok: AnswerSpec, extra: Record<string, AnswerSpec> = {}): OperationSpec {
  return {
    summary,
    security: SESSION,
    answers: { '200': ok, '401': noSession, ...STORE_ANSWERS, ...extra },
  };
}

/** A state-changing route behind the admin session and the CSRF check. */
function write(
  summary: string,
  ok: [string, AnswerSpec],
  options: { body?: z.ZodType; extra?: Record<string, AnswerSpec> } = {},
): OperationSpec {
  return {
    summary,
    security: SESSION_CSRF,
    ...(options.body ? { body: options.body } : {}),
    answers: {
      [ok[0]]: ok[1],
      ...(options.body ? BODY_ANSWERS : {}),
      '401': noSession,
      '403': errorAnswer('CSRF_REJECTED: missing or wrong X-CSRF-Token, or another Origin'),
      ...STORE_ANSWERS,
      ...options.extra,
    },
  };
}

const typeParam = pathParameter('type', z.enum(TEMPLATE_TYPES));
const idParam = pathParameter('id', z.string());
const noSuchClient = { '404': errorAnswer('NOT_FOUND: no such API client') };
const invalidQuery = { '400': errorAnswer('INVALID_ARGUMENT: a query parameter is out of range') };
const csrfRefused = errorAnswer('CSRF_REJECTED');

export function adminOpenApiPaths(): PathSpecs {
  return {
    '/admin/api/csrf': {
      get: {
        summary: 'A CSRF token bound to the sesame_csrf cookie (set when missing)',
        security: OPEN,
        answers: { '200': json('Token', wire.csrfTokenSchema) },
      },
    },
    '/admin/api/setup': {
      get: {
        summary: 'Whether any admin exists, and whether the dev inbox is on',
        security: OPEN,
        answers: { '200': json('Setup', wire.setupSchema), ...STORE_ANSWERS },
      },
    },
    '/admin/api/session/start': {
      post: {
        summary: 'Start admin sign-in: the same 202 for every address; only admins get an email',
        security: CSRF_ONLY,
        body: wire.sessionStartSchema,
        answers: { '202': json('Check your inbox', wire.sessionStartedSchema), ...BODY_ANSWERS, '403': csrfRefused, ...STORE_ANSWERS },
      },
    },
    '/admin/api/session/verify': {
      post: {
        summary: 'Verify the emailed code or link in the browser that started; sets the sesame_admin cookie',
        security: CSRF_ONLY,
        body: wire.sessionVerifySchema,
        answers: {
          '200': json('Signed in', wire.sessionSchema),
          ...BODY_ANSWERS,
          '400': errorAnswer('INVALID_CREDENTIAL, EXPIRED, ALREADY_USED, SAME_BROWSER_REQUIRED, INVALID_ARGUMENT'),
          '401': errorAnswer('UNAUTHENTICATED: no longer an admin'),
          '403': csrfRefused,
          ...STORE_ANSWERS,
        },
      },
    },
    '/admin/api/session': { get: read('The signed-in admin', json('Session', wire.sessionSchema)) },
    '/admin/api/session/logout': { post: write('Sign out (clears the cookie)', ['204', { description: 'Signed out' }]) },
    '/admin/api/policy': {
      get: read('The policy in force, the defaults, the ranges', json('Policy', wire.policyAnswerSchema)),
      put: write('Replace the policy (effective at once on every instance; audited)', ['200', json('Saved', wire.policySavedSchema)], {
        body: wire.policyUpdateSchema,
      }),
    },
    '/admin/api/audit': {
      get: {
        ...read('Changes made through the admin API, newest first', json('Entries', wire.auditPageSchema), invalidQuery),
        parameters: queryParameters(wire.auditQuerySchema),
      },
    },
    '/admin/api/templates': {
      get: read('SIGNIN and SIGNUP templates and the built-in variables', json('Templates', wire.templatesAnswerSchema)),
    },
    '/admin/api/templates/{type}': {
      put: {
        ...write('Save a template (unknown variables refused by name; audited)', ['200', json('Saved', wire.savedTemplateSchema)], {
          body: wire.templateInputSchema,
        }),
        parameters: [typeParam],
      },
      delete: {
        ...write('Back to the default template (audited)', ['200', json('Default', wire.savedTemplateSchema)], {
          extra: { '400': errorAnswer('INVALID_ARGUMENT: no such template type') },
        }),
        parameters: [typeParam],
      },
    },
    '/admin/api/templates/preview': {
      post: write('Render a template with sample values; nothing is sent or saved', ['200', json('Rendered', wire.renderedSchema)], {
        body: wire.previewRequestSchema,
      }),
    },
    '/admin/api/templates/test-email': {
      post: write(
        'Email the saved template to the signed-in admin through the outbox',
        ['202', json('Queued', wire.testEmailQueuedSchema)],
        {
          body: wire.testEmailSchema,
          extra: { '429': errorAnswer('SEND_LIMIT_EXCEEDED') },
        },
      ),
    },
    '/admin/api/brand': {
      get: read('Email branding', json('Brand', wire.brandAnswerSchema)),
      put: write('Change branding fields (audited)', ['200', json('Saved', wire.brandAnswerSchema)], { body: wire.brandUpdateSchema }),
      delete: write('Back to the default branding (audited)', ['200', json('Default', wire.brandAnswerSchema)]),
    },
    '/admin/api/clients': {
      get: read('API clients, with the default per-client send budget', json('Clients', wire.clientListSchema)),
      post: write('Create a client; its secret is shown this once (audited)', ['201', json('Created', wire.clientWithSecretSchema)], {
        body: wire.newClientSchema,
      }),
    },
    '/admin/api/clients/{id}/rotate': {
      post: {
        ...write(
          'New secret; the old one and every earlier access token stop working at once (audited)',
          ['200', json('Rotated', wire.clientWithSecretSchema)],
          { extra: noSuchClient },
        ),
        parameters: [idParam],
      },
    },
    '/admin/api/clients/{id}/revoke': {
      post: {
        ...write(
          'Revoke; its tokens stop working at once and its queued emails are failed (audited)',
          ['200', json('Revoked', wire.clientAnswerSchema)],
          { extra: noSuchClient },
        ),
        parameters: [idParam],
      },
    },
    '/admin/api/clients/{id}/send-limit': {
      put: {
        ...write(
          "Set the client's sends a minute (null: the deployment's default; audited)",
          ['200', json('Saved', wire.clientAnswerSchema)],
          {
            body: wire.sendLimitSchema,
            extra: noSuchClient,
          },
        ),
        parameters: [idParam],
      },
    },
    '/admin/api/activity': {
      get: {
        ...read(
          'Auth requests newest first with delivery timelines (masked addresses, refs not ids)',
          json('Page', wire.activityPageSchema),
          invalidQuery,
        ),
        parameters: queryParameters(wire.activityQuerySchema),
      },
    },
    '/admin': {
      get: { summary: 'The admin dashboard (static single-page app)', answers: { '200': { description: 'HTML', media: 'text/html' } } },
    },
    '/admin/*': {
      get: {
        summary: 'Dashboard assets; any other path answers the app (client-side routes)',
        answers: { '200': { description: 'A file, or the app' }, '404': errorAnswer('NOT_FOUND: no such asset') },
      },
    },
  };
}

/** The development inbox (no SMTP URL set, outside production): no session needed. */
export function devInboxOpenApiPaths(): PathSpecs {
  return {
    '/admin/api/dev-inbox': {
      get: {
        summary: 'Development inbox (no SMTP URL set): latest emails, newest first',
        parameters: queryParameters(devInboxQuerySchema),
        answers: { '200': json('Messages', devInboxListSchema), ...STORE_ANSWERS },
      },
    },
    '/admin/api/dev-inbox/{id}': {
      get: {
        summary: 'One development inbox message',
        parameters: [pathParameter('id', z.string())],
        answers: { '200': json('Message', devInboxMessageSchema), '404': errorAnswer('NOT_FOUND'), ...STORE_ANSWERS },
      },
    },
    '/dev/inbox': {
      get: {
        summary: 'Development inbox as an HTML page',
        answers: { '200': { description: 'HTML', media: 'text/html' }, ...STORE_ANSWERS },
      },
    },
  };
}

export const ADMIN_SECURITY_SCHEMES = {
  adminSession: {
    type: 'apiKey',
    in: 'cookie',
    name: 'sesame_admin',
    description: 'Admin session (a random id the server keeps, 8 h), set by session/verify and ended by session/logout',
  },
  csrfToken: {
    type: 'apiKey',
    in: 'header',
    name: 'X-CSRF-Token',
    description: 'From GET /admin/api/csrf, bound to the sesame_csrf cookie',
  },
};
