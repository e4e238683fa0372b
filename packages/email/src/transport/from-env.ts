/** Picks the transport from the environment: SMTP when `SESAME_SMTP_URL` is set, else the dev inbox. */
import type { Clock, Store } from '@sesame/core';
import type { EmailLogger } from '../logger.js';
import { createDevInboxTransport, devInboxStartupMessage } from './dev-inbox.js';
import { createSmtpTransport, describeSmtpUrl } from './smtp.js';
import type { MailTransport } from './types.js';

export interface MailEnvironment {
  readonly SESAME_SMTP_URL?: string | undefined;
  readonly SESAME_MAIL_FROM?: string | undefined;
  readonly SESAME_PUBLIC_URL?: string | undefined;
}

export interface CreateMailTransportOptions {
  readonly env: MailEnvironment;
  readonly store: Pick<Store, 'putDevInboxMessage'>;
  readonly logger: EmailLogger;
  readonly clock?: Clock;
  /** Pooled SMTP connections (default 5). */
  readonly smtpConnections?: number;
}

/** Throws (with a message naming the variable) when the configuration is unusable. */
export function createMailTransport(options: CreateMailTransportOptions): MailTransport {
  const smtpUrl = options.env.SESAME_SMTP_URL?.trim() ?? '';
  const mailFrom = options.env.SESAME_MAIL_FROM?.trim() ?? '';
  if (smtpUrl === '') {
    options.logger.warn({ transport: 'dev-inbox' }, devInboxStartupMessage(options.env.SESAME_PUBLIC_URL));
    return createDevInboxTransport({
      store: options.store,
      ...(mailFrom === '' ? {} : { from: mailFrom }),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }
  if (mailFrom === '') throw new Error('SESAME_MAIL_FROM is required when SESAME_SMTP_URL is set (e.g. "Acme <no-reply@acme.test>").');
  const transport = createSmtpTransport({
    url: smtpUrl,
    from: mailFrom,
    ...(options.smtpConnections === undefined ? {} : { maxConnections: options.smtpConnections }),
  });
  options.logger.info({ transport: 'smtp', server: describeSmtpUrl(smtpUrl) }, 'emails are delivered over SMTP');
  return transport;
}
