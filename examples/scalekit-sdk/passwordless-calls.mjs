// Sesame's passwordless calls (send, verify by code, verify by link, resend), written for
// Scalekit's official Node SDK, run against Sesame.
// The only Sesame-specific thing is the environment URL. Run `npm start` (or `npx sesame dev`)
// in the repository root first, then: node examples/scalekit-sdk/passwordless-calls.mjs you@example.com
//
// Credentials come from SCALEKIT_CLIENT_ID / SCALEKIT_CLIENT_SECRET, or from the development
// client `sesame dev` keeps in .sesame/dev-client.json. Codes and links are read from Sesame's
// dev inbox (only served when no SMTP server is configured), standing in for the user's mailbox.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScalekitClient } from '@scalekit-sdk/node';

const envUrl = process.env.SCALEKIT_ENVIRONMENT_URL ?? 'http://127.0.0.1:8080';
const dataDir = process.env.SESAME_DATA_DIR ?? '.sesame';
const devClient = () => JSON.parse(readFileSync(join(dataDir, 'dev-client.json'), 'utf8'));
const clientId = process.env.SCALEKIT_CLIENT_ID ?? devClient().client_id;
const clientSecret = process.env.SCALEKIT_CLIENT_SECRET ?? devClient().client_secret;
const magiclinkAuthUri = process.env.MAGICLINK_AUTH_URI ?? 'http://localhost:3000/api/auth/verify';
const [user = 'ada@example.com'] = process.argv.slice(2);
const [local, domain] = user.split('@');
// One address per flow: Sesame allows two emails per address per minute by default, and counts
// that limit on the mailbox, so a `+tag` would not make another address.
const address = (flow) => `${local}.${flow}@${domain}`;

const scalekit = new ScalekitClient(envUrl, clientId, clientSecret);

/** The newest email to `to` in the dev inbox (other than `seen`), as the user would read it. */
async function readMail(to, seen = null) {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${envUrl}/admin/api/dev-inbox?limit=20`);
    if (!res.ok) throw new Error(`dev inbox: HTTP ${res.status} (is SESAME_SMTP_URL set?)`);
    const { messages } = await res.json();
    const mail = messages.find((m) => m.to.includes(to) && m.id !== seen);
    if (mail) {
      return { id: mail.id, code: /\b(\d{6})\b/.exec(mail.text)?.[1], linkToken: /link_token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1] };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no email to ${to}`);
}

// 1. Send, then verify by code (the OTP fallback).
const byCode = address('code');
const sent = await scalekit.passwordless.sendPasswordlessEmail(byCode, {
  template: 'SIGNIN',
  magiclinkAuthUri,
  state: 'from-the-example',
  expiresIn: 300,
  templateVariables: { team: 'Acme' },
});
console.log(`sent: ${sent.authRequestId} expires in ${sent.expiresIn} s`);
const first = await readMail(byCode);
const verified = await scalekit.passwordless.verifyPasswordlessEmail({ code: first.code }, sent.authRequestId);
console.log(`verified by code: ${verified.email} (state ${verified.state})`);

// 2. Send, then verify by magic link, with the auth request id of this browser.
const byLink = address('link');
const linkSent = await scalekit.passwordless.sendPasswordlessEmail(byLink, { magiclinkAuthUri });
const link = await readMail(byLink);
const linkVerified = await scalekit.passwordless.verifyPasswordlessEmail({ linkToken: link.linkToken }, linkSent.authRequestId);
console.log(`verified by link: ${linkVerified.email}`);

// 3. Send, resend (the first email's code stops working), verify with the new code.
const byResend = address('resend');
const resendSent = await scalekit.passwordless.sendPasswordlessEmail(byResend, { magiclinkAuthUri });
const original = await readMail(byResend);
const resent = await scalekit.passwordless.resendPasswordlessEmail(resendSent.authRequestId);
const second = await readMail(byResend, original.id);
const afterResend = await scalekit.passwordless.verifyPasswordlessEmail({ code: second.code }, resent.authRequestId);
console.log(`verified after resend: ${afterResend.email}`);
