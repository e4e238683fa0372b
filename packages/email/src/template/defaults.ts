/**
 * The default SIGNIN and SIGNUP emails. HTML that mail clients render alike: nested tables for
 * layout, inline styles only (many clients drop <style>), a "bulletproof" button (a coloured
 * table cell around the link, so Outlook shows the colour too), the code in a large monospace
 * block, and a footer saying why the email arrived. Sections hide the link parts of an OTP
 * email and the code parts of a LINK email.
 */
import type { TemplateType } from '@sesame/core';

export interface EmailTemplate {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

export type EmailTemplates = Readonly<Record<TemplateType, EmailTemplate>>;

interface Wording {
  /** Subject and heading when the email carries a link. */
  readonly linkHeading: string;
  /** Subject and heading when the email carries only a code. */
  readonly codeHeading: string;
  readonly buttonLabel: string;
  /** What the reader does, completed by "by clicking…" or "by entering…". */
  readonly action: string;
  /** Why the email arrived, for the footer. */
  readonly reason: string;
}

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const MONO = "'SFMono-Regular',Menlo,Consolas,'Liberation Mono','Courier New',monospace";

// Singular or plural: "This link expires…", "This code expires…", "The link and the code expire…".
const EXPIRY =
  '{{#link}}{{#otp}}The link and the code expire{{/otp}}{{^otp}}This link expires{{/otp}}{{/link}}{{^link}}This code expires{{/link}}' +
  ' in {{expiry_time_relative}} ({{expire_time}}) and can be used once.';

function heading(wording: Wording): string {
  return `{{#link}}${wording.linkHeading}{{/link}}{{^link}}${wording.codeHeading}{{/link}}`;
}

function html(wording: Wording): string {
  const title = heading(wording);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<meta name="supported-color-schemes" content="light">
<title>${title}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f4f5;">
<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">${title}. This expires in {{expiry_time_relative}}.</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f4f5;">
<tr>
<td align="center" style="padding:32px 16px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:480px;background-color:#ffffff;border:1px solid #e4e4e7;border-radius:8px;">
{{#logo_url}}<tr>
<td align="center" style="padding:32px 32px 0;"><img src="{{logo_url}}" alt="{{app_name}}" height="40" style="display:block;height:40px;width:auto;border:0;outline:none;text-decoration:none;"></td>
</tr>
{{/logo_url}}<tr>
<td style="padding:32px 32px 8px;font-family:${FONT};">
<h1 style="margin:0;font-size:22px;line-height:30px;font-weight:600;color:#111827;">${title}</h1>
</td>
</tr>
<tr>
<td style="padding:8px 32px 0;font-family:${FONT};font-size:15px;line-height:24px;color:#374151;">
{{#link}}${wording.action} by clicking the button below{{#otp}}, or by entering the code{{/otp}}.{{/link}}{{^link}}${wording.action} by entering this code:{{/link}}
</td>
</tr>
{{#link}}<tr>
<td align="center" style="padding:24px 32px 8px;">
<table role="presentation" cellpadding="0" cellspacing="0" border="0">
<tr>
<td align="center" bgcolor="{{accent_color}}" style="border-radius:6px;background-color:{{accent_color}};">
<a href="{{link}}" target="_blank" rel="noopener" style="display:inline-block;padding:12px 28px;font-family:${FONT};font-size:16px;line-height:24px;font-weight:600;color:{{accent_text_color}};text-decoration:none;border-radius:6px;">${wording.buttonLabel}</a>
</td>
</tr>
</table>
</td>
</tr>
{{/link}}{{#otp}}<tr>
<td align="center" style="padding:24px 32px 8px;font-family:${FONT};">
{{#link}}<p style="margin:0 0 8px;font-size:13px;line-height:20px;color:#6b7280;">Or enter this code</p>
{{/link}}<div style="display:inline-block;padding:14px 24px;background-color:#f4f4f5;border:1px solid #e4e4e7;border-top:3px solid {{accent_color}};border-radius:6px;font-family:${MONO};font-size:32px;line-height:40px;font-weight:700;letter-spacing:6px;color:#111827;">{{otp}}</div>
</td>
</tr>
{{/otp}}<tr>
<td style="padding:16px 32px 0;font-family:${FONT};font-size:14px;line-height:22px;color:#374151;">
${EXPIRY}
</td>
</tr>
{{#link}}<tr>
<td style="padding:16px 32px 0;font-family:${FONT};font-size:13px;line-height:20px;color:#6b7280;">
If the button does not work, copy this link into your browser:<br>
<a href="{{link}}" target="_blank" rel="noopener" style="color:#4b5563;word-break:break-all;">{{link}}</a>
</td>
</tr>
{{/link}}<tr>
<td style="padding:24px 32px 32px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr>
<td style="border-top:1px solid #e4e4e7;padding-top:16px;font-family:${FONT};font-size:12px;line-height:18px;color:#6b7280;">
You received this email because ${wording.reason} with {{email}}. If that was not you, you can safely ignore this email: nothing happens without it. Never share this {{^link}}code{{/link}}{{#link}}email{{/link}} with anyone.
</td>
</tr>
</table>
</td>
</tr>
</table>
</td>
</tr>
</table>
</body>
</html>
`;
}

function text(wording: Wording): string {
  return `${heading(wording)}

{{#link}}${wording.action} by opening this link:
{{link}}
{{#otp}}
Or enter this code: {{otp}}
{{/otp}}{{/link}}{{^link}}${wording.action} by entering this code: {{otp}}
{{/link}}
${EXPIRY}

--
You received this email because ${wording.reason} with {{email}}. If that was not you, you can safely ignore this email: nothing happens without it.
`;
}

function template(wording: Wording): EmailTemplate {
  return { subject: heading(wording), html: html(wording), text: text(wording) };
}

export const DEFAULT_TEMPLATES: EmailTemplates = {
  SIGNIN: template({
    linkHeading: 'Sign in to {{app_name}}',
    codeHeading: 'Your {{app_name}} sign-in code',
    buttonLabel: 'Sign in to {{app_name}}',
    action: 'Sign in',
    reason: 'someone asked to sign in to {{app_name}}',
  }),
  SIGNUP: template({
    linkHeading: 'Confirm your email for {{app_name}}',
    codeHeading: 'Your {{app_name}} verification code',
    buttonLabel: 'Confirm email address',
    action: 'Finish creating your account',
    reason: 'someone started signing up for {{app_name}}',
  }),
};
