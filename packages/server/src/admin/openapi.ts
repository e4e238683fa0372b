/** The admin API's part of /openapi.json (docs/ADMIN_API.md is the prose contract). */

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string) => ({ description, content: json(ref('Error')) });
const obj = (properties: Record<string, object>, required: string[] = Object.keys(properties)) => ({
  type: 'object',
  required,
  properties,
});
const str = { type: 'string' };
const time = { type: 'string', format: 'date-time' };
const nullable = (schema: object) => ({ oneOf: [schema, { type: 'null' }] });

const SESSION = [{ adminSession: [] }];
const SESSION_CSRF = [{ adminSession: [], csrfToken: [] }];
const CSRF_ONLY = [{ csrfToken: [] }];

const sessionErrors = { '401': error('UNAUTHENTICATED: no valid admin session'), '500': error('INTERNAL') };
const writeErrors = {
  ...sessionErrors,
  '400': error('INVALID_ARGUMENT (field violations)'),
  '403': error('CSRF_REJECTED: missing or wrong X-CSRF-Token, or another Origin'),
  '413': error('PAYLOAD_TOO_LARGE'),
};
const typeParam = { name: 'type', in: 'path', required: true, schema: { enum: ['SIGNIN', 'SIGNUP'] } };
const idParam = { name: 'id', in: 'path', required: true, schema: str };
const sendsPerMinute = nullable({ type: 'integer', minimum: 1, maximum: 1_000_000 });

function op(
  summary: string,
  security: object[],
  ok: [string, string, object?],
  errors: object,
  requestBody?: object,
  parameters?: object[],
) {
  const [status, description, schema] = ok;
  return {
    summary,
    security,
    ...(parameters ? { parameters } : {}),
    ...(requestBody ? { requestBody: { required: true, content: json(requestBody) } } : {}),
    responses: { [status]: { description, ...(schema ? { content: json(schema) } : {}) }, ...errors },
  };
}

export function adminOpenApiPaths(): Record<string, object> {
  const session = obj({ email: str, csrf_token: str });
  return {
    '/admin/api/csrf': {
      get: op('A CSRF token bound to the sesame_csrf cookie (set when missing)', [{}], ['200', 'Token', obj({ csrf_token: str })], {}),
    },
    '/admin/api/setup': {
      get: op(
        'Whether any admin exists, and whether the dev inbox is on',
        [{}],
        ['200', 'Setup', obj({ admins_exist: { type: 'boolean' }, dev_inbox: { type: 'boolean' } })],
        {},
      ),
    },
    '/admin/api/session/start': {
      post: op(
        'Start admin sign-in: the same 202 for every address; only admins get an email',
        CSRF_ONLY,
        ['202', 'Check your inbox', obj({ status: { const: 'check_inbox' }, expires_in: { type: 'integer' } })],
        { '400': error('INVALID_ARGUMENT'), '403': error('CSRF_REJECTED') },
        obj({ email: str }),
      ),
    },
    '/admin/api/session/verify': {
      post: op(
        'Verify the emailed code or link in the browser that started; sets the sesame_admin cookie',
        CSRF_ONLY,
        ['200', 'Signed in', session],
        {
          '400': error('INVALID_CREDENTIAL, EXPIRED, ALREADY_USED, SAME_BROWSER_REQUIRED, INVALID_ARGUMENT'),
          '401': error('UNAUTHENTICATED: no longer an admin'),
          '403': error('CSRF_REJECTED'),
        },
        { oneOf: [obj({ code: str }), obj({ link_token: str })] },
      ),
    },
    '/admin/api/session': { get: op('The signed-in admin', SESSION, ['200', 'Session', session], sessionErrors) },
    '/admin/api/session/logout': { post: op('Sign out (clears the cookie)', SESSION_CSRF, ['204', 'Signed out'], writeErrors) },
    '/admin/api/policy': {
      get: op(
        'The policy in force, the defaults, the ranges',
        SESSION,
        [
          '200',
          'Policy',
          obj({ policy: ref('AdminPolicy'), defaults: ref('AdminPolicy'), ranges: { type: 'object' }, updated_at: nullable(time) }),
        ],
        sessionErrors,
      ),
      put: op(
        'Replace the policy (effective at once on every instance; audited)',
        SESSION_CSRF,
        ['200', 'Saved', obj({ policy: ref('AdminPolicy'), updated_at: time })],
        writeErrors,
        ref('AdminPolicy'),
      ),
    },
    '/admin/api/audit': {
      get: op(
        'Changes made through the admin API, newest first',
        SESSION,
        [
          '200',
          'Entries',
          obj({
            entries: { type: 'array', items: obj({ id: str, at: time, actor: str, action: str, before: {}, after: {} }) },
            next_before: nullable(str),
          }),
        ],
        sessionErrors,
        undefined,
        [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
          { name: 'before', in: 'query', schema: str },
        ],
      ),
    },
    '/admin/api/templates': {
      get: op(
        'SIGNIN and SIGNUP templates and the built-in variables',
        SESSION,
        ['200', 'Templates', obj({ templates: { type: 'object' }, variables: { type: 'array', items: str } })],
        sessionErrors,
      ),
    },
    '/admin/api/templates/{type}': {
      put: op(
        'Save a template (unknown variables refused by name; audited)',
        SESSION_CSRF,
        ['200', 'Saved', ref('AdminTemplate')],
        writeErrors,
        ref('AdminTemplateInput'),
        [typeParam],
      ),
      delete: op('Back to the default template (audited)', SESSION_CSRF, ['200', 'Default', ref('AdminTemplate')], writeErrors, undefined, [
        typeParam,
      ]),
    },
    '/admin/api/templates/preview': {
      post: op(
        'Render a template with sample values; nothing is sent or saved',
        SESSION_CSRF,
        ['200', 'Rendered', obj({ subject: str, html: str, text: str })],
        writeErrors,
        { allOf: [ref('AdminTemplateInput'), obj({ template: { enum: ['SIGNIN', 'SIGNUP'] }, brand: ref('AdminBrand') }, ['template'])] },
      ),
    },
    '/admin/api/templates/test-email': {
      post: op(
        'Email the saved template to the signed-in admin through the outbox',
        SESSION_CSRF,
        ['202', 'Queued', obj({ status: { const: 'queued' } })],
        { ...writeErrors, '429': error('SEND_LIMIT_EXCEEDED') },
        obj({ template: { enum: ['SIGNIN', 'SIGNUP'] } }),
      ),
    },
    '/admin/api/brand': {
      get: op(
        'Email branding',
        SESSION,
        ['200', 'Brand', obj({ brand: ref('AdminBrand'), is_default: { type: 'boolean' } })],
        sessionErrors,
      ),
      put: op(
        'Change branding fields (audited)',
        SESSION_CSRF,
        ['200', 'Saved', obj({ brand: ref('AdminBrand'), is_default: { type: 'boolean' } })],
        writeErrors,
        ref('AdminBrand'),
      ),
      delete: op(
        'Back to the default branding (audited)',
        SESSION_CSRF,
        ['200', 'Default', obj({ brand: ref('AdminBrand'), is_default: { type: 'boolean' } })],
        writeErrors,
      ),
    },
    '/admin/api/clients': {
      get: op(
        'API clients, with the default per-client send budget',
        SESSION,
        [
          '200',
          'Clients',
          obj({ clients: { type: 'array', items: ref('AdminClient') }, default_sends_per_minute: nullable({ type: 'integer' }) }),
        ],
        sessionErrors,
      ),
      post: op(
        'Create a client; its secret is shown this once (audited)',
        SESSION_CSRF,
        ['201', 'Created', obj({ client: ref('AdminClient'), client_secret: str })],
        writeErrors,
        obj({ name: str, redirect_uris: { type: 'array', items: str }, sends_per_minute: sendsPerMinute }, ['name']),
      ),
    },
    '/admin/api/clients/{id}/rotate': {
      post: op(
        'New secret; the old one and every earlier access token stop working at once (audited)',
        SESSION_CSRF,
        ['200', 'Rotated', obj({ client: ref('AdminClient'), client_secret: str })],
        { ...writeErrors, '404': error('NOT_FOUND') },
        undefined,
        [idParam],
      ),
    },
    '/admin/api/clients/{id}/revoke': {
      post: op(
        'Revoke; its tokens stop working at once and its queued emails are failed (audited)',
        SESSION_CSRF,
        ['200', 'Revoked', obj({ client: ref('AdminClient') })],
        { ...writeErrors, '404': error('NOT_FOUND') },
        undefined,
        [idParam],
      ),
    },
    '/admin/api/clients/{id}/send-limit': {
      put: op(
        "Set the client's sends a minute (null: the deployment's default; audited)",
        SESSION_CSRF,
        ['200', 'Saved', obj({ client: ref('AdminClient') })],
        { ...writeErrors, '404': error('NOT_FOUND') },
        obj({ sends_per_minute: sendsPerMinute }),
        [idParam],
      ),
    },
    '/admin/api/activity': {
      get: op(
        'Auth requests newest first with delivery timelines (masked addresses, refs not ids)',
        SESSION,
        ['200', 'Page', obj({ auth_requests: { type: 'array', items: ref('AdminActivity') }, next_cursor: nullable(str) })],
        { ...sessionErrors, '400': error('INVALID_ARGUMENT') },
        undefined,
        [
          { name: 'email', in: 'query', schema: str },
          { name: 'status', in: 'query', schema: { enum: ['pending', 'verified', 'expired', 'locked'] } },
          { name: 'cursor', in: 'query', schema: str },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 25 } },
        ],
      ),
    },
    '/admin': {
      get: {
        summary: 'The admin dashboard (static single-page app)',
        responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
      },
    },
    '/admin/*': {
      get: {
        summary: 'Dashboard assets; any other path answers the app (client-side routes)',
        responses: { '200': { description: 'File or HTML' }, '404': error('NOT_FOUND (missing asset)') },
      },
    },
  };
}

const window = obj({ max: { type: 'integer' }, window_seconds: { type: 'integer' } });

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

export const ADMIN_SCHEMAS = {
  AdminPolicy: obj({
    passwordless_type: { enum: ['OTP', 'LINK', 'LINK_OTP'] },
    expiry_seconds: { type: 'integer' },
    otp_format: { enum: ['NUMERIC', 'ALPHANUMERIC'] },
    otp_length: { type: 'integer' },
    same_browser_enforcement: { type: 'boolean' },
    otp_attempts_per_request: { type: 'integer' },
    emails_per_address: window,
    failed_otp_per_address: window,
    allowed_redirect_uris: { type: 'array', items: obj({ uri: str, match: { enum: ['exact', 'prefix'] } }) },
  }),
  AdminTemplateInput: obj({ subject: str, html: str, text: str, custom_variables: { type: 'array', items: str } }, [
    'subject',
    'html',
    'text',
  ]),
  AdminTemplate: obj({
    template: { enum: ['SIGNIN', 'SIGNUP'] },
    subject: str,
    html: str,
    text: str,
    custom_variables: { type: 'array', items: str },
    is_default: { type: 'boolean' },
  }),
  AdminBrand: obj({ app_name: str, logo_url: nullable(str), accent_color: str, from_name: nullable(str) }, []),
  AdminClient: obj({
    id: str,
    name: str,
    redirect_uris: { type: 'array', items: str },
    created_at: time,
    revoked_at: nullable(time),
    last_used_at: nullable(time),
    secret_version: { type: 'integer' },
    sends_per_minute: sendsPerMinute,
  }),
  AdminActivity: obj({
    ref: str,
    email_masked: str,
    type: { enum: ['OTP', 'LINK', 'LINK_OTP'] },
    template: { enum: ['SIGNIN', 'SIGNUP'] },
    status: { enum: ['pending', 'verified', 'expired', 'locked'] },
    created_at: time,
    expires_at: time,
    consumed_at: nullable(time),
    attempts: { type: 'integer' },
    sends: { type: 'integer' },
    delivery: nullable({ enum: ['queued', 'sent', 'failed', 'superseded'] }),
    timeline: { type: 'array', items: obj({ at: time, kind: str, attempt: nullable({ type: 'integer' }), detail: nullable(str) }) },
  }),
};
