/**
 * What the benches ask of a started bench server: the passwordless REST routes (over its
 * keep-alive agent, with its token) and its mailbox sidecar (the captured codes and links, the
 * outbox depth).
 */
import { getJson, postJson, type BenchServer } from './bench-server.js';
import { PASSWORDLESS_API } from './closed-loop.js';

export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** POST /api/v1/passwordless/email/send or …/verify. */
export function postPasswordless(server: BenchServer, action: 'send' | 'verify', body: unknown, timeoutMs?: number): Promise<Answer> {
  return postJson(server, `${PASSWORDLESS_API}/${action}`, body, timeoutMs);
}

/** A captured email as the sidecar hands it out: the otp mailbox's carry a code, the link mailbox's a link token. */
export interface CapturedMail {
  readonly email: string;
  /** Missing only when the server queued the email through a path the sidecar does not watch. */
  readonly auth_request_id?: string;
  readonly otp?: string;
  readonly link_token?: string;
}

/**
 * Takes up to `max` mails of one kind out of the sidecar's mailbox. The sidecar waits (up to
 * 25 s) while the outbox still holds emails, so give the call more than that.
 */
export function takeMail(server: BenchServer, kind: 'otp' | 'link', max: number, timeoutMs?: number): Promise<CapturedMail[]> {
  return getJson<CapturedMail[]>(`${server.sidecar}/mailbox/${kind}?max=${max}`, timeoutMs);
}

/** The REST verify body for a captured mail: by code when it carries one, else by link. */
export function verifyBody(mail: CapturedMail): Record<string, string> {
  return mail.otp !== undefined
    ? { code: mail.otp, auth_request_id: mail.auth_request_id! }
    : { link_token: mail.link_token!, auth_request_id: mail.auth_request_id! };
}

export interface SidecarStats {
  readonly rssMiB: number;
  /** Emails captured since the server started. */
  readonly captured: number;
  readonly outboxDepth: number;
}

export function sidecarStats(server: BenchServer, timeoutMs?: number): Promise<SidecarStats> {
  return getJson<SidecarStats>(`${server.sidecar}/stats`, timeoutMs);
}
