/**
 * A real SMTP server on 127.0.0.1 (smtp-server) that keeps every message it accepts, parsed with
 * mailparser: the mailbox the tests read codes and links from. Options make it slow, greylisting,
 * refusing recipients, authenticating or encrypted; `discard` makes it a sink for load runs.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { isMailTo, recordMail, type CapturedMail } from './mail-record.js';
import { waitUntil } from './wait.js';

export interface SmtpCaptureOptions {
  /** Listen on this port (to take the place of a stopped server); default a free one. */
  readonly port?: number;
  /** Answer each DATA only this long after the message was recorded (a slow server). */
  readonly replyDelayMs?: number;
  /** Refuse the first N messages with `451 4.3.0 Try again later` (a greylisting server); they are not kept. */
  readonly refuseFirst?: number;
  /** Answer every RCPT TO with this error (e.g. 550 or 451). */
  readonly rejectRecipient?: { readonly code: number; readonly message: string };
  /** Require AUTH with these credentials. */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** TLS from the first byte (smtps://), with smtp-server's built-in self-signed certificate. */
  readonly secure?: boolean;
  /** Offer STARTTLS (with the same certificate); off by default. */
  readonly starttls?: boolean;
  /** Keep each message's raw text too (`CapturedMail.raw`); off by default, as long runs keep many messages. */
  readonly keepRaw?: boolean;
  /** Accept every message and keep none (nothing parsed): a sink for load runs. */
  readonly discard?: boolean;
  /** The bound of `waitForMail` and `waitForCount` when the call names none; default 10 s. */
  readonly waitTimeoutMs?: number;
}

export interface SmtpCapture {
  readonly port: number;
  /** `smtp://127.0.0.1:PORT` (`smtps://` when `secure`), for SESAME_SMTP_URL. */
  readonly url: string;
  /** Every message accepted so far, in arrival order. */
  readonly mails: readonly CapturedMail[];
  /** Every DATA refused so far: the recipient and the reply sent. */
  readonly refused: readonly { readonly to: string; readonly reply: string }[];
  /** Messages whose DATA began (accepted, refused, or not yet answered). */
  dataStarted(): number;
  /** Messages to `to` (an envelope recipient, compared without case). */
  mailsTo(to: string): CapturedMail[];
  /** Waits (bounded) for the `count`-th message to `to` and returns it. */
  waitForMail(to: string, count?: number, timeoutMs?: number): Promise<CapturedMail>;
  /** Waits (bounded) until `count` messages arrived in all; returns every message so far. */
  waitForCount(count: number, timeoutMs?: number): Promise<readonly CapturedMail[]>;
  /** Answers the next message to `to` with `451 message` (greylisting one address once), then accepts. */
  failFirstAttempt(to: string, message?: string): void;
  close(): Promise<void>;
}

const TRY_AGAIN = '4.3.0 Try again later';

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

export async function startSmtpCapture(options: SmtpCaptureOptions = {}): Promise<SmtpCapture> {
  const mails: CapturedMail[] = [];
  const refused: { to: string; reply: string }[] = [];
  const failOnce = new Map<string, string>();
  const delay = options.replyDelayMs ?? 0;
  const waitTimeoutMs = options.waitTimeoutMs ?? 10_000;
  let refusedFirst = 0;
  let started = 0;

  /** The 451 this message gets, if it is refused. */
  function refusal(recipients: readonly string[]): { to: string; message: string } | undefined {
    const to = recipients.find((address) => failOnce.has(address));
    if (to !== undefined) {
      const message = failOnce.get(to)!;
      failOnce.delete(to);
      return { to, message };
    }
    if (refusedFirst < (options.refuseFirst ?? 0)) {
      refusedFirst += 1;
      return { to: recipients[0] ?? '', message: TRY_AGAIN };
    }
    return undefined;
  }

  const serverOptions: SMTPServerOptions = {
    secure: options.secure ?? false,
    logger: false,
    // Pooled clients keep connections open; close() should not wait long for them.
    closeTimeout: 500,
    disabledCommands: [...(options.auth ? [] : ['AUTH']), ...(options.starttls ? [] : ['STARTTLS'])],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass)
        callback(null, { user: auth.username });
      else callback(smtpError(535, 'Invalid username or password'));
    },
    onRcptTo(_address, _session, callback) {
      const reject = options.rejectRecipient;
      callback(reject ? smtpError(reject.code, reject.message) : undefined);
    },
    onData(stream, session, callback) {
      started += 1;
      const envelopeTo = session.envelope.rcptTo.map((rcpt) => rcpt.address);
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        if (!options.discard) chunks.push(chunk);
      });
      stream.on('end', () => {
        const refuse = refusal(envelopeTo.map((to) => to.toLowerCase()));
        if (refuse) {
          refused.push({ to: refuse.to, reply: `451 ${refuse.message}` });
          callback(smtpError(451, refuse.message));
          return;
        }
        const reply = (): void => {
          if (delay > 0) setTimeout(() => callback(), delay);
          else callback();
        };
        if (options.discard) return reply();
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw)
          .then((parsed) => {
            mails.push(recordMail(parsed, options.keepRaw ? raw : undefined, envelopeTo, session.secure));
            reply();
          })
          .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client killed mid-session is a socket error on our side: expected in crash tests.
  server.on('error', () => undefined);
  const port = (server.server.address() as AddressInfo).port;
  const mailsTo = (to: string): CapturedMail[] => mails.filter((mail) => isMailTo(mail, to));
  return {
    port,
    url: `${options.secure ? 'smtps' : 'smtp'}://127.0.0.1:${port}`,
    mails,
    refused,
    dataStarted: () => started,
    mailsTo,
    waitForMail: (to, count = 1, timeoutMs = waitTimeoutMs) =>
      waitUntil(`mail #${count} to ${to}`, () => mailsTo(to)[count - 1], timeoutMs, 25),
    async waitForCount(count, timeoutMs = waitTimeoutMs) {
      await waitUntil(`${count} messages`, () => mails.length >= count, timeoutMs, 25).catch(() => {
        throw new Error(`expected ${count} messages within ${timeoutMs} ms, got ${mails.length}`);
      });
      return mails;
    },
    failFirstAttempt: (to, message = TRY_AGAIN) => void failOnce.set(to.toLowerCase(), message),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
