/** The secret part of an outbox email: sealed by core at send time, opened by the email worker. */
import { utf8 } from './encoding.js';
import type { PayloadSealer } from './credentials.js';

export interface OutboxPayload {
  readonly otp: string | null;
  readonly linkToken: string | null;
}

export async function sealOutboxPayload(sealer: PayloadSealer, outboxId: string, payload: OutboxPayload): Promise<Uint8Array> {
  return sealer.seal(outboxId, utf8.encode(JSON.stringify(payload)));
}

export async function openOutboxPayload(sealer: PayloadSealer, outboxId: string, sealed: Uint8Array): Promise<OutboxPayload> {
  const parsed: unknown = JSON.parse(utf8.decode(await sealer.open(outboxId, sealed)));
  if (!isPayload(parsed)) throw new Error('Malformed outbox payload.');
  return parsed;
}

function isPayload(value: unknown): value is OutboxPayload {
  if (value === null || typeof value !== 'object') return false;
  const { otp, linkToken } = value as Record<string, unknown>;
  return (otp === null || typeof otp === 'string') && (linkToken === null || typeof linkToken === 'string');
}
