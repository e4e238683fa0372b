/** A real SMTP server on 127.0.0.1 for the tests: records every accepted message, parsed. */
import { createServer as createNetServer } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  readonly parsed: ParsedMail;
  readonly raw: string;
  readonly envelopeTo: readonly string[];
  /** The session was encrypted (smtps or STARTTLS). */
  readonly secure: boolean;
}

export interface TestSmtpOptions {
  /** Fixed port (to restart a server where a stopped one was); default a free one. */
  readonly port?: number;
  /** Delay before accepting each message's data, to make a batch slow. */
  readonly delayMs?: number;
  /** Reply with this error to RCPT TO (e.g. 550 or 451). */
  readonly rejectRecipient?: { readonly code: number; readonly message: string };
  /** Require AUTH with these credentials. */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** TLS from the first byte (smtps://), with smtp-server's built-in self-signed certificate. */
  readonly secure?: boolean;
  /** Offer STARTTLS (with the same certificate); off by default. */
  readonly starttls?: boolean;
}

export interface TestSmtp {
  readonly port: number;
  readonly received: ReceivedMail[];
  /** Messages whose DATA began (accepted or not yet answered). */
  dataStarted(): number;
  /** Resolves when `count` messages arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  const waiters: Array<() => void> = [];
  let started = 0;
  const serverOptions: SMTPServerOptions = {
    secure: options.secure ?? false,
    logger: false,
    // Pooled clients keep connections open; close() should not wait long for them.
    closeTimeout: 500,
    disabledCommands: [...(options.auth ? [] : ['AUTH']), ...(options.starttls ? [] : ['STARTTLS'])],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        callback(null, { user: auth.username });
      } else {
        callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      }
    },
    onRcptTo(_address, _session, callback) {
      const reject = options.rejectRecipient;
      if (reject) callback(Object.assign(new Error(reject.message), { responseCode: reject.code }));
      else callback();
    },
    onData(stream, session, callback) {
      started += 1;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const finish = (): void => {
          simpleParser(raw)
            .then((parsed) => {
              received.push({ parsed, raw, envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address), secure: session.secure });
              for (const wake of waiters.splice(0)) wake();
              callback();
            })
            .catch((error: unknown) => callback(error as Error));
        };
        if (options.delayMs) setTimeout(finish, options.delayMs);
        else finish();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  const port = options.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    received,
    dataStarted: () => started,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} messages, got ${received.length}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 200));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received;
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
