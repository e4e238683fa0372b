/** What a test reads from a delivered email: the parsed message plus its envelope and credentials. */
import type { ParsedMail } from 'mailparser';

export interface CapturedMail extends ParsedMail {
  /** The envelope recipients (RCPT TO), as the client wrote them. */
  readonly envelopeTo: readonly string[];
  /** The first envelope recipient, lower-cased: whom the message is for. */
  readonly recipient: string;
  /** The message as received, headers and body (kept only with `keepRaw`). */
  readonly raw: string | undefined;
  /** The session was encrypted (smtps or STARTTLS). */
  readonly secure: boolean;
  /** The one-time code of the text part (`code: 123456`), if it has one. */
  readonly code: string | undefined;
  /** The magic link of the text part (a URL with `link_token=`), if it has one. */
  readonly link: string | undefined;
  /** `Date.now()` when the message was recorded. */
  readonly receivedAt: number;
}

export function recordMail(parsed: ParsedMail, raw: string | undefined, envelopeTo: readonly string[], secure: boolean): CapturedMail {
  const text = parsed.text ?? '';
  return Object.assign(parsed, {
    envelopeTo,
    recipient: (envelopeTo[0] ?? '').toLowerCase(),
    raw,
    secure,
    code: /code:\s*([A-Za-z0-9]{4,12})/.exec(text)?.[1],
    link: /(https?:\/\/\S*[?&]link_token=[\w-]+)/.exec(text)?.[1],
    receivedAt: Date.now(),
  });
}

/** Whether `mail` went to `address` (an envelope recipient, compared without case). */
export function isMailTo(mail: CapturedMail, address: string): boolean {
  const wanted = address.toLowerCase();
  return mail.envelopeTo.some((to) => to.toLowerCase() === wanted);
}
