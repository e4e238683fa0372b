/**
 * One email from a template, a brand and the facts of a send. Used by the worker for every
 * message and by the dashboard for a live preview (with sample values).
 */
import type { PasswordlessType, TemplateType } from '@sesame/core';
import { DEFAULT_BRAND, type Brand } from './template/brand.js';
import { DEFAULT_TEMPLATES, type EmailTemplate, type EmailTemplates } from './template/defaults.js';
import { escapeHtml, renderTemplate, validateTemplate, type TemplateValidation } from './template/render.js';
import { BUILT_IN_VARIABLES, buildVariables, type EmailFacts } from './template/variables.js';

export interface RenderEmailInput extends EmailFacts {
  readonly template: TemplateType;
  readonly brand?: Brand;
  /** Custom templates; the defaults are used for a type that has none. */
  readonly templates?: Partial<EmailTemplates>;
  /** The request's template_variables (built-ins win on a clash). */
  readonly templateVariables?: Readonly<Record<string, string>>;
  /** The API client the email is for: the dashboard's own sign-in emails ignore `templates`. */
  readonly clientId?: string;
}

export interface RenderedEmail {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

const MAX_SUBJECT_LENGTH = 250;

/**
 * The caller id of the dashboard's own sign-in (the server's ADMIN_CLIENT_ID). Its emails always
 * use the built-in templates: no saved template, however broken, can lock the admins out.
 */
export const DASHBOARD_CLIENT_ID = 'sesame-admin';

export function renderEmail(input: RenderEmailInput): RenderedEmail {
  const variables = buildVariables(input, input.brand ?? DEFAULT_BRAND, input.templateVariables);
  const custom = input.clientId === DASHBOARD_CLIENT_ID ? undefined : input.templates?.[input.template];
  if (custom) {
    const rendered = renderWith(custom, variables);
    // Saved templates are checked against the policy's type when saved, but the type can change
    // later (an older save, a policy edited elsewhere): an email that would carry neither its
    // code nor its link, and so sign no one in, goes out with the built-in template instead.
    if (signsIn(rendered, input.otp, input.link)) return rendered;
  }
  return renderWith(DEFAULT_TEMPLATES[input.template], variables);
}

function renderWith(template: EmailTemplate, variables: Record<string, string>): RenderedEmail {
  return {
    subject: oneLine(renderTemplate(template.subject, variables, 'text')),
    html: renderTemplate(template.html, variables, 'html'),
    text: renderTemplate(template.text, variables, 'text'),
  };
}

function signsIn(email: RenderedEmail, otp: string | null, link: string | null): boolean {
  const carries = (credential: string | null): boolean =>
    credential !== null && credential !== '' && email.text.includes(credential) && email.html.includes(escapeHtml(credential));
  return (!otp && !link) || carries(otp) || carries(link);
}

/** A subject is one header line: line breaks from values or the template become spaces. */
function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim().slice(0, MAX_SUBJECT_LENGTH);
}

export interface PreviewInput {
  readonly template: TemplateType;
  readonly type: PasswordlessType;
  readonly brand?: Brand;
  readonly templates?: Partial<EmailTemplates>;
  readonly templateVariables?: Readonly<Record<string, string>>;
  readonly now: number;
  /** Defaults to 300 s, the policy's default expiry. */
  readonly expiresInSeconds?: number;
}

/** Sample values that look real but can never verify anything. */
export const PREVIEW_SAMPLE = {
  email: 'jane@example.com',
  otp: '123456',
  link: 'https://app.example.com/auth/verify?link_token=preview-only',
} as const;

/** The dashboard's live preview: the email a send of `type` would produce, with sample values. */
export function renderPreview(input: PreviewInput): RenderedEmail {
  return renderEmail({
    ...input,
    email: PREVIEW_SAMPLE.email,
    otp: input.type === 'LINK' ? null : PREVIEW_SAMPLE.otp,
    link: input.type === 'OTP' ? null : PREVIEW_SAMPLE.link,
    expiresAt: input.now + (input.expiresInSeconds ?? 300) * 1000,
  });
}

export interface EmailTemplateValidation {
  readonly subject: TemplateValidation;
  readonly html: TemplateValidation;
  readonly text: TemplateValidation;
  /** No syntax problems in any part (unknown variables are warnings, not errors). */
  readonly ok: boolean;
}

/**
 * Checks a custom template before it is saved. Unknown variables are reported, not refused:
 * they may be template_variables the app sends; at render time an unset one renders empty.
 */
export function validateEmailTemplate(template: EmailTemplate, extraKnownNames: readonly string[] = []): EmailTemplateValidation {
  const known = [...BUILT_IN_VARIABLES, ...extraKnownNames];
  const subject = validateTemplate(template.subject, known);
  const html = validateTemplate(template.html, known);
  const text = validateTemplate(template.text, known);
  return { subject, html, text, ok: subject.ok && html.ok && text.ok };
}
