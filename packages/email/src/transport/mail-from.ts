/** `SESAME_MAIL_FROM`: `no-reply@example.com` or `Example <no-reply@example.com>`. */

export interface MailFrom {
  readonly name: string | null;
  readonly address: string;
}

const ADDRESS = /^[^\s@<>"]+@[^\s@<>"]+$/;
const NAMED = /^\s*"?([^"<>]*?)"?\s*<([^<>]+)>\s*$/;

export function parseMailFrom(value: string): MailFrom {
  const named = NAMED.exec(value);
  const name = named ? (named[1] ?? '').trim() : '';
  const address = (named ? (named[2] ?? '') : value).trim();
  if (!ADDRESS.test(address) || /[\r\n]/.test(name)) {
    throw new Error(`SESAME_MAIL_FROM is not an email address (e.g. "Acme <no-reply@acme.test>"): ${JSON.stringify(value.slice(0, 100))}`);
  }
  return { name: name === '' ? null : name, address };
}

/** The brand's name wins over the configured one; quotes and line breaks never reach the header. */
export function formatFrom(from: MailFrom, displayName: string | null, fallbackName = ''): string {
  const name = (displayName ?? from.name ?? fallbackName).replace(/["\\\r\n<>]/g, '').trim();
  return name === '' ? from.address : `"${name}" <${from.address}>`;
}
