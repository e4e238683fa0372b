/**
 * SMTP delivery through nodemailer's pooled transport. Nodemailer 10 sets TCP_NODELAY on its
 * sockets, so a pipelined SMTP exchange does not stall on delayed ACKs (older versions waited
 * for one on every message); the pool keeps connections open between messages.
 */
import { createTransport } from 'nodemailer';
import { formatFrom, parseMailFrom, type MailFrom } from './mail-from.js';
import type { DeliveryResult, MailTransport, OutgoingEmail, SendOptions } from './types.js';

export interface SmtpTransportOptions {
  /** `smtp://[user:pass@]host[:port]` (STARTTLS when offered) or `smtps://…` (TLS from the start); nodemailer query options such as `?requireTLS=true` or `?tls.rejectUnauthorized=false` pass through. */
  readonly url: string;
  /** `SESAME_MAIL_FROM`. */
  readonly from: string;
  /** Pooled connections (default 5). */
  readonly maxConnections?: number;
  /** Connect, greeting and idle-socket timeouts in ms (defaults 10 s, 10 s, 30 s). */
  readonly connectionTimeoutMs?: number;
  readonly greetingTimeoutMs?: number;
  readonly socketTimeoutMs?: number;
}

const MAX_DETAIL_LENGTH = 500;

export function createSmtpTransport(options: SmtpTransportOptions): MailTransport {
  const url = parseSmtpUrl(options.url);
  const from: MailFrom = parseMailFrom(options.from);
  const secrets = credentialsOf(url);
  const transporter = createTransport({
    url: options.url,
    pool: true,
    maxConnections: options.maxConnections ?? 5,
    maxMessages: 500,
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    greetingTimeout: options.greetingTimeoutMs ?? 10_000,
    socketTimeout: options.socketTimeoutMs ?? 30_000,
    // Messages are built from strings only: never let a template reach a file or a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });

  return {
    kind: 'smtp',
    async send(email: OutgoingEmail, sendOptions: SendOptions = {}): Promise<DeliveryResult> {
      try {
        const info = await transporter.sendMail({
          // Nodemailer 10 cancels a queued or in-progress send on abort (a stalling server that
          // trickles replies is noticed by no socket timeout).
          ...(sendOptions.signal ? { signal: sendOptions.signal } : {}),
          from: formatFrom(from, email.fromName, email.fallbackFromName),
          to: email.to,
          subject: email.subject,
          text: email.text,
          html: email.html,
        });
        return { status: 'sent', reply: redact(info.response, secrets) };
      } catch (error) {
        return classifySmtpError(error, secrets);
      }
    },
    async verify() {
      try {
        await transporter.verify();
        return { ok: true, detail: `connected to ${describeSmtpUrl(options.url)}` };
      } catch (error) {
        return { ok: false, detail: classifySmtpError(error, secrets).reply };
      }
    },
    close() {
      transporter.close();
      return Promise.resolve();
    },
  };
}

function parseSmtpUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('SESAME_SMTP_URL is not a URL (expected smtp://user:pass@host:587 or smtps://user:pass@host:465).');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new Error(`SESAME_SMTP_URL must start with smtp:// or smtps://, not ${url.protocol}//.`);
  }
  if (url.hostname === '') throw new Error('SESAME_SMTP_URL has no host.');
  return url;
}

/** The URL without credentials or options, for log lines. */
export function describeSmtpUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'an unparsable SMTP URL';
  }
}

function credentialsOf(url: URL): string[] {
  const raw = [url.username, url.password];
  const decoded = raw.map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  // Short strings would redact ordinary words from replies; real credentials are longer.
  return [...new Set([...raw, ...decoded])].filter((secret) => secret.length >= 4);
}

interface SmtpErrorShape {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly response?: unknown;
  readonly responseCode?: unknown;
}

/**
 * Permanent: a 5xx reply to the message (550 no such user, 552 too big, 554 rejected) will be
 * the same reply next time. Transient: 4xx replies, connection errors and timeouts, and two 5xx
 * cases that are about the session, not the message: 503 (bad sequence, a fresh connection
 * fixes it) and authentication failures (a configuration error the operator fixes; the
 * message should go out once they do).
 */
export function classifySmtpError(error: unknown, secrets: readonly string[] = []): Exclude<DeliveryResult, { status: 'sent' }> {
  const shape: SmtpErrorShape = typeof error === 'object' && error !== null ? error : {};
  const code = typeof shape.code === 'string' ? shape.code : null;
  const responseCode = typeof shape.responseCode === 'number' ? shape.responseCode : null;
  const response = typeof shape.response === 'string' ? shape.response : null;
  const message = typeof shape.message === 'string' ? shape.message : String(error);
  const isAuth = code === 'EAUTH' || code === 'ENOAUTH';
  const permanent = responseCode !== null && responseCode >= 500 && responseCode < 600 && responseCode !== 503 && !isAuth;
  const detail = response ?? (code === null ? message : `${code}: ${message}`);
  return { status: permanent ? 'permanent' : 'transient', reply: redact(detail, secrets) };
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out
    .replace(/[\r\n]+/g, ' ')
    .trim()
    .slice(0, MAX_DETAIL_LENGTH);
}
