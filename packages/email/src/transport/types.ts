/** What the worker hands a transport, and what comes back. */

export interface OutgoingEmail {
  /** The outbox row this message delivers (the dev inbox links to it). */
  readonly outboxId: string;
  readonly to: string;
  /** Display name of the From header (the brand's from-name); null uses SESAME_MAIL_FROM's name. */
  readonly fromName: string | null;
  /** Display name when neither is set (the app name). */
  readonly fallbackFromName: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/**
 * Delivery failures are data, not exceptions: the worker decides sent / retry / failed from the
 * status. `reply` is the server's reply line or the error text, never credentials.
 */
export type DeliveryResult =
  | { readonly status: 'sent'; readonly reply: string }
  /** Worth another try later: a 4xx reply, a refused or dropped connection, a timeout. */
  | { readonly status: 'transient'; readonly reply: string }
  /** Will never be accepted as is: a 5xx reply (e.g. 550 no such mailbox). */
  | { readonly status: 'permanent'; readonly reply: string };

export interface SendOptions {
  readonly signal?: AbortSignal;
}

export interface MailTransport {
  readonly kind: 'smtp' | 'dev-inbox';
  /**
   * Delivers one message. An aborted `signal` ends the attempt as `transient` (the server may
   * still have accepted it: the worker aborts only to keep a send within its lease).
   */
  send(email: OutgoingEmail, options?: SendOptions): Promise<DeliveryResult>;
  /** Checks that the transport can deliver now (SMTP: connect, greet, authenticate). */
  verify(): Promise<{ readonly ok: boolean; readonly detail: string }>;
  /** Releases pooled connections. */
  close(): Promise<void>;
}
