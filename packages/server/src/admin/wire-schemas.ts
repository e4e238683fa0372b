/**
 * The admin API on the wire (docs/ADMIN_API.md): every request body and answer as a schema. The
 * policy schema validates PUT /admin/api/policy; /openapi.json is generated from all of them, and
 * the dashboard (packages/admin-ui) reads their types, so the three cannot drift apart.
 */
import { OTP_FORMATS, PASSWORDLESS_TYPES, TEMPLATE_TYPES, policySchema, sendInputSchema, verifyInputSchema } from '@sesame/core';
import { z } from 'zod';
import { MAX_SENDS_PER_MINUTE } from '../auth/api-clients.js';

const isoTime = z.string().meta({ format: 'date-time' });
const templateType = z.enum(TEMPLATE_TYPES);
const passwordlessType = z.enum(PASSWORDLESS_TYPES);

// ---- sign-in ---------------------------------------------------------------------------------

export const csrfTokenSchema = z.object({ csrf_token: z.string() });
export const setupSchema = z.object({ admins_exist: z.boolean(), dev_inbox: z.boolean() });
/** Checked with core's own rules for these fields (session.ts parses them with core's input schemas). */
export const sessionStartSchema = z.object({ email: sendInputSchema.shape.email });
export const sessionStartedSchema = z.object({ status: z.literal('check_inbox'), expires_in: z.int() });
export const sessionVerifySchema = z
  .object({ code: verifyInputSchema.shape.code, link_token: verifyInputSchema.shape.linkToken })
  .meta({ description: 'The emailed code or the link token (exactly one), in the browser that started' });
export const sessionSchema = z.object({ email: z.string(), csrf_token: z.string() });

// ---- policy ----------------------------------------------------------------------------------

interface Range {
  readonly min: number;
  readonly max: number;
}

function range(schema: unknown, scale = 1): Range {
  const number = schema as { minValue: number | null; maxValue: number | null };
  return { min: (number.minValue ?? 0) / scale, max: (number.maxValue ?? Number.MAX_SAFE_INTEGER) / scale };
}

const shape = policySchema.shape;
/** Core's ranges, on the wire (windows in seconds): the form's limits. */
export const POLICY_RANGES = {
  passwordless_type: [...PASSWORDLESS_TYPES],
  otp_format: [...OTP_FORMATS],
  expiry_seconds: range(shape.expirySeconds),
  otp_length: range(shape.otpLength),
  otp_attempts_per_request: range(shape.otpAttemptsPerRequest),
  emails_per_address: { max: range(shape.emailsPerAddress.shape.max), window_seconds: range(shape.emailsPerAddress.shape.windowMs, 1000) },
  failed_otp_per_address: {
    max: range(shape.failedOtpPerAddress.shape.max),
    window_seconds: range(shape.failedOtpPerAddress.shape.windowMs, 1000),
  },
  allowed_redirect_uris: {
    max_items:
      (shape.allowedRedirectUris as unknown as { def: { checks?: { _zod: { def: { maximum?: number } } }[] } }).def.checks?.[0]?._zod.def
        .maximum ?? 100,
  },
} as const;

const int = (r: Range) =>
  z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(r.min, `must be at least ${r.min}`)
    .max(r.max, `must be at most ${r.max}`);
const windowSchema = (ranges: { max: Range; window_seconds: Range }) =>
  z.object({ max: int(ranges.max), window_seconds: int(ranges.window_seconds) }, { error: 'must be an object {max, window_seconds}' });

/** The whole policy in snake_case, windows in seconds: what GET answers and what PUT is validated with. */
export const policyWireSchema = z.object({
  passwordless_type: z.enum(PASSWORDLESS_TYPES, { error: `must be one of ${PASSWORDLESS_TYPES.join(', ')}` }),
  expiry_seconds: int(POLICY_RANGES.expiry_seconds),
  otp_format: z.enum(OTP_FORMATS, { error: `must be one of ${OTP_FORMATS.join(', ')}` }),
  otp_length: int(POLICY_RANGES.otp_length),
  same_browser_enforcement: z.boolean({ error: 'must be true or false' }),
  otp_attempts_per_request: int(POLICY_RANGES.otp_attempts_per_request),
  emails_per_address: windowSchema(POLICY_RANGES.emails_per_address),
  failed_otp_per_address: windowSchema(POLICY_RANGES.failed_otp_per_address),
  allowed_redirect_uris: z
    .array(
      z.object({
        uri: z.string().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
        match: z.enum(['exact', 'prefix'], { error: 'must be exact or prefix' }),
      }),
      {
        error: 'must be a list of {uri, match}',
      },
    )
    .max(POLICY_RANGES.allowed_redirect_uris.max_items, `must have at most ${POLICY_RANGES.allowed_redirect_uris.max_items} entries`),
});

export const policyUpdateSchema = z
  .union([policyWireSchema, z.object({ policy: policyWireSchema })])
  .meta({ description: 'The whole policy, or {policy} as GET answers it' });

const rangeSchema = z.object({ min: z.number(), max: z.number() });
export const policyRangesSchema = z.object({
  passwordless_type: z.array(passwordlessType),
  otp_format: z.array(z.enum(OTP_FORMATS)),
  expiry_seconds: rangeSchema,
  otp_length: rangeSchema,
  otp_attempts_per_request: rangeSchema,
  emails_per_address: z.object({ max: rangeSchema, window_seconds: rangeSchema }),
  failed_otp_per_address: z.object({ max: rangeSchema, window_seconds: rangeSchema }),
  allowed_redirect_uris: z.object({ max_items: z.int() }),
});

export const policyAnswerSchema = z.object({
  policy: policyWireSchema,
  defaults: policyWireSchema,
  ranges: policyRangesSchema,
  updated_at: isoTime.nullable(),
});
export const policySavedSchema = z.object({ policy: policyWireSchema, updated_at: isoTime });

export const auditEntrySchema = z.object({
  id: z.string(),
  at: isoTime,
  actor: z.string(),
  action: z.string(),
  before: z.unknown(),
  after: z.unknown(),
});
export const auditPageSchema = z.object({ entries: z.array(auditEntrySchema), next_before: z.string().nullable() });
export const auditQuerySchema = z.object({ limit: z.int().min(1).max(100).default(50).optional(), before: z.string().optional() });

// ---- templates and branding ------------------------------------------------------------------

const templateParts = { subject: z.string(), html: z.string(), text: z.string() };
export const templateInputSchema = z.object({ ...templateParts, custom_variables: z.array(z.string()).optional() });
export const templateSchema = z.object({ ...templateParts, custom_variables: z.array(z.string()), is_default: z.boolean() });
export const templatesAnswerSchema = z.object({
  templates: z.object({ SIGNIN: templateSchema, SIGNUP: templateSchema }),
  variables: z.array(z.string()),
});
export const savedTemplateSchema = templateSchema.extend({ template: templateType });

export const brandSchema = z.object({
  app_name: z.string(),
  logo_url: z.string().nullable(),
  accent_color: z.string(),
  from_name: z.string().nullable(),
});
const brandFieldsSchema = z.object({
  app_name: z.string().optional(),
  logo_url: z.string().nullable().optional(),
  accent_color: z.string().optional(),
  from_name: z.string().nullable().optional(),
});
export const brandUpdateSchema = z
  .union([brandFieldsSchema, z.object({ brand: brandFieldsSchema })])
  .meta({ description: 'The fields to change, or {brand} as GET answers it' });
export const brandAnswerSchema = z.object({ brand: brandSchema, is_default: z.boolean() });

export const previewRequestSchema = templateInputSchema.extend({ template: templateType, brand: brandFieldsSchema.nullable().optional() });
export const renderedSchema = z.object(templateParts);
export const testEmailSchema = z.object({ template: templateType });
export const testEmailQueuedSchema = z.object({ status: z.literal('queued') });

// ---- API clients -----------------------------------------------------------------------------

export const SENDS_PER_MINUTE_RULE = `must be a whole number from 1 to ${MAX_SENDS_PER_MINUTE}, or null for the deployment's default`;
/** A client's own send budget: validates both client routes' `sends_per_minute`. */
export const sendsPerMinuteSchema = z
  .union([z.int().min(1).max(MAX_SENDS_PER_MINUTE), z.null()], { error: SENDS_PER_MINUTE_RULE })
  .meta({ description: "null: the deployment's default" });

export const clientSchema = z.object({
  id: z.string(),
  name: z.string(),
  redirect_uris: z.array(z.string()),
  created_at: isoTime,
  revoked_at: isoTime.nullable(),
  last_used_at: isoTime.nullable(),
  secret_version: z.int().meta({ description: 'Grows by one at each rotation' }),
  sends_per_minute: sendsPerMinuteSchema,
});
export const clientListSchema = z.object({ clients: z.array(clientSchema), default_sends_per_minute: z.int().nullable() });
export const MAX_REDIRECT_URIS = 50;
export const newClientSchema = z.object({
  name: z.string().min(1).max(100),
  redirect_uris: z.array(z.string().max(1000)).max(MAX_REDIRECT_URIS).optional().meta({ description: 'A trailing * makes a prefix rule' }),
  sends_per_minute: sendsPerMinuteSchema.optional(),
});
export const clientWithSecretSchema = z.object({ client: clientSchema, client_secret: z.string() });
export const clientAnswerSchema = z.object({ client: clientSchema });
export const sendLimitSchema = z.object({ sends_per_minute: sendsPerMinuteSchema });

// ---- activity --------------------------------------------------------------------------------

export const authRequestStatusSchema = z.enum(['pending', 'verified', 'expired', 'locked']);
export const timelineEventSchema = z.object({
  at: isoTime,
  kind: z.enum(['queued', 'attempt', 'sent', 'retry_scheduled', 'failed', 'superseded']),
  attempt: z.int().nullable(),
  detail: z.string().nullable(),
});
export const authRequestRowSchema = z.object({
  ref: z.string(),
  email_masked: z.string(),
  type: passwordlessType,
  template: templateType,
  status: authRequestStatusSchema,
  created_at: isoTime,
  expires_at: isoTime,
  consumed_at: isoTime.nullable(),
  attempts: z.int(),
  sends: z.int(),
  delivery: z.enum(['queued', 'sent', 'failed', 'superseded']).nullable(),
  timeline: z.array(timelineEventSchema),
});
export const activityPageSchema = z.object({ auth_requests: z.array(authRequestRowSchema), next_cursor: z.string().nullable() });
export const activityQuerySchema = z.object({
  email: z.string().optional().meta({ description: 'An exact address' }),
  status: authRequestStatusSchema.optional(),
  cursor: z.string().optional(),
  limit: z.int().min(1).max(100).default(25).optional(),
});

export const ADMIN_CATALOG = {
  requests: {
    AdminSessionStart: sessionStartSchema,
    AdminSessionVerify: sessionVerifySchema,
    AdminPolicyUpdate: policyUpdateSchema,
    AdminTemplateInput: templateInputSchema,
    AdminPreviewRequest: previewRequestSchema,
    AdminTestEmail: testEmailSchema,
    AdminBrandUpdate: brandUpdateSchema,
    AdminNewClient: newClientSchema,
    AdminSendLimit: sendLimitSchema,
  },
  responses: {
    AdminCsrfToken: csrfTokenSchema,
    AdminSetup: setupSchema,
    AdminSessionStarted: sessionStartedSchema,
    AdminSession: sessionSchema,
    AdminPolicy: policyWireSchema,
    AdminPolicyAnswer: policyAnswerSchema,
    AdminPolicySaved: policySavedSchema,
    AdminAuditPage: auditPageSchema,
    AdminTemplateEntry: templateSchema,
    AdminTemplates: templatesAnswerSchema,
    AdminTemplate: savedTemplateSchema,
    AdminRendered: renderedSchema,
    AdminTestEmailQueued: testEmailQueuedSchema,
    AdminBrand: brandSchema,
    AdminBrandAnswer: brandAnswerSchema,
    AdminClient: clientSchema,
    AdminClientList: clientListSchema,
    AdminClientWithSecret: clientWithSecretSchema,
    AdminClientAnswer: clientAnswerSchema,
    AdminActivityPage: activityPageSchema,
  },
};

// The types the dashboard reads (exported as `AdminWire` by the package).
export type { FieldViolation } from '../http/error-schema.js';
export type { InboxList, InboxMessage } from '../ops/wire-schemas.js';
export type PasswordlessType = z.output<typeof passwordlessType>;
export type TemplateType = z.output<typeof templateType>;
export type CsrfToken = z.output<typeof csrfTokenSchema>;
export type Setup = z.output<typeof setupSchema>;
export type SessionStarted = z.output<typeof sessionStartedSchema>;
export type SessionVerify = z.input<typeof sessionVerifySchema>;
export type Session = z.output<typeof sessionSchema>;
export type Policy = z.output<typeof policyWireSchema>;
export type PolicyRanges = z.output<typeof policyRangesSchema>;
export type PolicyAnswer = z.output<typeof policyAnswerSchema>;
export type PolicySaved = z.output<typeof policySavedSchema>;
export type RedirectUri = Policy['allowed_redirect_uris'][number];
export type AuditEntry = z.output<typeof auditEntrySchema>;
export type AuditPage = z.output<typeof auditPageSchema>;
export type TemplateInput = z.input<typeof templateInputSchema>;
export type Template = z.output<typeof templateSchema>;
export type TemplatesAnswer = z.output<typeof templatesAnswerSchema>;
export type SavedTemplate = z.output<typeof savedTemplateSchema>;
export type PreviewRequest = z.input<typeof previewRequestSchema>;
export type Rendered = z.output<typeof renderedSchema>;
export type TestEmailQueued = z.output<typeof testEmailQueuedSchema>;
export type Brand = z.output<typeof brandSchema>;
export type BrandFields = z.input<typeof brandFieldsSchema>;
export type BrandAnswer = z.output<typeof brandAnswerSchema>;
export type NewClient = z.input<typeof newClientSchema>;
export type Client = z.output<typeof clientSchema>;
export type ClientList = z.output<typeof clientListSchema>;
export type ClientWithSecret = z.output<typeof clientWithSecretSchema>;
export type ClientAnswer = z.output<typeof clientAnswerSchema>;
export type AuthStatus = z.output<typeof authRequestStatusSchema>;
export type TimelineEvent = z.output<typeof timelineEventSchema>;
export type AuthRequestRow = z.output<typeof authRequestRowSchema>;
export type ActivityPage = z.output<typeof activityPageSchema>;
