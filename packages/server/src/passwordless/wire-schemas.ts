/**
 * The passwordless REST API on the wire (docs/WIRE.md "REST"): request bodies in snake_case, built
 * from the fields of core's input schemas (which validate them, once http/body.ts has picked them
 * by these names), the answers, and the OAuth token endpoint's bodies.
 */
import { PASSWORDLESS_TYPES, TEMPLATE_TYPES, resendInputSchema, sendInputSchema, verifyInputSchema } from '@sesame/core';
import { z } from 'zod';

const send = sendInputSchema.shape;
const verify = verifyInputSchema.shape;
const resend = resendInputSchema.shape;

export const sendRequestSchema = z
  .object({
    email: send.email.meta({ description: 'The address to email (at most 320 characters)' }),
    template: send.template.meta({ description: 'SIGNIN (default) or SIGNUP; the proto enum numbers are accepted too' }),
    magiclink_auth_uri: send.magiclinkAuthUri.meta({ description: 'Required when the policy type includes a link' }),
    state: send.state,
    expires_in: send.expiresIn.meta({ description: '60–3600 seconds; 0 or absent: the policy default' }),
    template_variables: send.templateVariables.meta({ description: 'At most 30; reserved names (otp, link, …) are refused' }),
  })
  .meta({ description: 'snake_case names; lowerCamelCase is accepted too, null counts as absent' });

export const verifyRequestSchema = z
  .object({ code: verify.code, link_token: verify.linkToken, auth_request_id: verify.authRequestId })
  .meta({ description: 'Exactly one of code and link_token; auth_request_id is required with a code' });

export const resendRequestSchema = z.object({ auth_request_id: resend.authRequestId });

/** wire (snake_case) name → core (camelCase) name: the names http/body.ts picks. */
export type FieldMap = Readonly<Record<string, string>>;

function fieldMap(schema: z.ZodObject): FieldMap {
  return Object.fromEntries(
    Object.keys(schema.shape).map((wire) => [wire, wire.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())]),
  );
}

export const SEND_FIELDS = fieldMap(sendRequestSchema);
export const VERIFY_FIELDS = fieldMap(verifyRequestSchema);
export const RESEND_FIELDS = fieldMap(resendRequestSchema);

export const sendResponseSchema = z.object({
  auth_request_id: z.string(),
  expires_at: z.int().meta({ description: 'Seconds since the epoch' }),
  expires_in: z.int(),
  passwordless_type: z.enum(PASSWORDLESS_TYPES),
});

export const verifyResponseSchema = z.object({
  email: z.string(),
  state: z.string().optional().meta({ description: 'Absent when the send carried none' }),
  template: z.enum(TEMPLATE_TYPES),
  passwordless_type: z.enum(PASSWORDLESS_TYPES),
});

export const tokenRequestSchema = z
  .object({ grant_type: z.literal('client_credentials'), client_id: z.string().optional(), client_secret: z.string().optional() })
  .meta({ description: 'The client id and secret here, or in HTTP Basic, not both' });

export const tokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.int(),
});

export const oauthErrorSchema = z.object({
  error: z.enum(['invalid_request', 'invalid_client', 'unsupported_grant_type']),
  error_description: z.string(),
});

export const PASSWORDLESS_CATALOG = {
  requests: {
    TokenRequest: tokenRequestSchema,
    SendRequest: sendRequestSchema,
    VerifyRequest: verifyRequestSchema,
    ResendRequest: resendRequestSchema,
  },
  responses: {
    TokenResponse: tokenResponseSchema,
    OAuthError: oauthErrorSchema,
    SendResponse: sendResponseSchema,
    VerifyResponse: verifyResponseSchema,
  },
};

export type SendResponse = z.output<typeof sendResponseSchema>;
export type VerifyResponse = z.output<typeof verifyResponseSchema>;
