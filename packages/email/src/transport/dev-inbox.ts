/**
 * Without an SMTP URL, mail goes to the dev inbox: stored by the store, listed newest first in
 * the dashboard and at /admin/api/dev-inbox. Nothing leaves the machine.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type Store } from '@sesame/core';
import { formatFrom, parseMailFrom, type MailFrom } from './mail-from.js';
import type { DeliveryResult, MailTransport, OutgoingEmail } from './types.js';
import { errorText } from '../logger.js';

export interface DevInboxTransportOptions {
  readonly store: Pick<Store, 'putDevInboxMessage'>;
  /** `SESAME_MAIL_FROM` when set; otherwise `no-reply@sesame.localhost`. */
  readonly from?: string;
  readonly clock?: Clock;
}

export const DEV_INBOX_DEFAULT_FROM = 'no-reply@sesame.localhost';

export function createDevInboxTransport(options: DevInboxTransportOptions): MailTransport {
  const from: MailFrom = parseMailFrom(options.from ?? DEV_INBOX_DEFAULT_FROM);
  const clock = options.clock ?? systemClock;
  return {
    kind: 'dev-inbox',
    async send(email: OutgoingEmail): Promise<DeliveryResult> {
      const id = randomUUID();
      try {
        await options.store.putDevInboxMessage({
          id,
          outboxId: email.outboxId,
          to: email.to,
          from: formatFrom(from, email.fromName, email.fallbackFromName),
          subject: email.subject,
          text: email.text,
          html: email.html,
          createdAt: clock.now(),
        });
      } catch (error) {
        return { status: 'transient', reply: `dev inbox store failed: ${errorText(error)}` };
      }
      return { status: 'sent', reply: `stored in the dev inbox as ${id}` };
    },
    verify: () => Promise.resolve({ ok: true, detail: 'dev inbox' }),
    close: () => Promise.resolve(),
  };
}

/** The start-up log line when no SMTP URL is configured. */
export function devInboxStartupMessage(publicUrl?: string): string {
  const base = publicUrl ? publicUrl.replace(/\/+$/, '') : '';
  return `SESAME_SMTP_URL is not set: emails are not delivered, they go to the dev inbox (${base}/dev/inbox, JSON at ${base}/admin/api/dev-inbox).`;
}
