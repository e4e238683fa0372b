/**
 * A `sesame start` of its own (fresh data directory, an API client made with the CLI) delivering
 * to an SMTP capture: what the client and Next.js kit tests run against.
 */
import type { CapturedMail } from './mail-record.js';
import { createApiClientWithCli } from './sesame-cli.js';
import { isolatedSesameEnv } from './sesame-env.js';
import { startSesameProcess } from './sesame-process.js';
import { startSmtpCapture } from './smtp.js';

export interface RunningSesame {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The one redirect URI the client may use. */
  readonly redirectUri: string;
  readonly mails: readonly CapturedMail[];
  /** The `index`-th (0-based) message to `to`, waiting (bounded) for it. */
  nthMail(to: string, index: number): Promise<CapturedMail>;
  stop(): Promise<void>;
}

export async function startSesameWithMail(): Promise<RunningSesame> {
  const smtp = await startSmtpCapture({ waitTimeoutMs: 15_000 });
  const redirectUri = 'http://127.0.0.1:3999/api/auth/verify';
  const { env } = isolatedSesameEnv('sesame-client-test-', { SESAME_SMTP_URL: smtp.url });
  const client = await createApiClientWithCli({ env, name: 'client-test', redirectUri });
  const sesame = await startSesameProcess({ env });
  return {
    url: sesame.url,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    redirectUri,
    mails: smtp.mails,
    nthMail: (to, index) => smtp.waitForMail(to, index + 1),
    async stop() {
      await sesame.stop();
      await smtp.close();
    },
  };
}
