/**
 * A real SMTP server on 127.0.0.1 (smtp-server) that keeps every message it receives, parsed
 * with mailparser: the mailbox the end-to-end tests read codes and links from.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SmtpCapture {
  readonly port: number;
  /** `smtp://127.0.0.1:PORT`, for SESAME_SMTP_URL. */
  readonly url: string;
  /** Every message received so far, in arrival order. */
  readonly mails: readonly ParsedMail[];
  /** Messages whose To header names `to`. */
  mailsTo(to: string): ParsedMail[];
  /** Waits (bounded) for the `count`-th message to `to` and returns it. */
  waitForMail(to: string, count?: number, timeoutMs?: number): Promise<ParsedMail>;
  close(): Promise<void>;
}

export interface SmtpCaptureOptions {
  /** Answer each DATA only this long after the message was recorded (a slow server). */
  readonly replyDelayMs?: number;
  /** Refuse the first N messages with `451 4.3.0 Try again later` (a greylisting server); they are not kept. */
  readonly refuseFirst?: number;
}

export async function startSmtpCapture(options: SmtpCaptureOptions = {}): Promise<SmtpCapture> {
  const mails: ParsedMail[] = [];
  const delay = options.replyDelayMs ?? 0;
  const refuseFirst = options.refuseFirst ?? 0;
  let refused = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      if (refused < refuseFirst) {
        refused += 1;
        stream.on('end', () => callback(Object.assign(new Error('4.3.0 Try again later'), { responseCode: 451 })));
        stream.resume();
        return;
      }
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          if (delay > 0) setTimeout(() => callback(), delay);
          else callback();
        })
        .catch((error: unknown) => callback(error as Error));
    },
  });
  // A client killed mid-session is a socket error on our side: expected in crash tests.
  server.on('error', () => undefined);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.server.address() as AddressInfo).port;
  const mailsTo = (to: string): ParsedMail[] => mails.filter((m) => JSON.stringify(m.to ?? '').includes(to));
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    mailsTo,
    async waitForMail(to, count = 1, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mail = mailsTo(to)[count - 1];
        if (mail) return mail;
        if (Date.now() > deadline) throw new Error(`no mail #${count} to ${to} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
