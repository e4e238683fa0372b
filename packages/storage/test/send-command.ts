// A send command for the SQLite tests that look at the write path and at raw bytes on disk.
import { cryptoRandom, generateId, type CreateAuthRequestCommand, type CredentialDigests, type WindowLimit } from '@sesame/core';

export interface SendCommandOptions {
  readonly emailKey: string;
  readonly sendLimit: WindowLimit;
  readonly now: number;
  readonly id?: string;
  readonly ttlMs?: number;
  /** The store never reads the digests: random bytes stand in for them unless a test wants real ones. */
  readonly digests?: CredentialDigests;
  /** Opaque to the store too: fixed bytes are enough to see it kept or wiped. */
  readonly sealedPayload?: Uint8Array;
  readonly outboxId?: string;
}

/** A LINK_OTP sign-in for client `c`, one outbox email, no send budgets. */
export function sendCommand(options: SendCommandOptions): CreateAuthRequestCommand {
  const { emailKey, now, id = generateId(cryptoRandom) } = options;
  return {
    request: {
      id,
      clientId: 'c',
      email: emailKey,
      emailKey,
      template: 'SIGNIN',
      type: 'LINK_OTP',
      magiclinkAuthUri: 'https://app.example.com/',
      state: null,
      templateVariables: {},
      createdAt: now,
      expiresAt: now + (options.ttlMs ?? 300_000),
      ...(options.digests ?? {
        otpHash: cryptoRandom.bytes(32),
        linkTokenHash: cryptoRandom.bytes(32),
        linkLookup: cryptoRandom.bytes(32),
      }),
    },
    email: {
      id: options.outboxId ?? generateId(cryptoRandom),
      authRequestId: id,
      createdAt: now,
      sealedPayload: options.sealedPayload ?? new Uint8Array(32).fill(7),
    },
    sendLimit: options.sendLimit,
    budgets: [],
    now,
  };
}
