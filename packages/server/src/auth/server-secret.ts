/**
 * The server secret: keys credential digests, the outbox seal, client-secret hashes and access
 * tokens. Production must be given one; development generates one once and keeps it in the data
 * directory, so restarts keep sessions, tokens and queued mail valid.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utf8 } from '@sesame/core';
import { ConfigError, type Config } from '../config.js';

export const SECRET_FILE = 'secret';

export interface ResolvedSecret {
  readonly bytes: Uint8Array;
  readonly source: 'environment' | 'generated' | 'data-dir';
  /** SESAME_SECRET_FALLBACKS, without the current secret: accepted for what they made, never used to make anything. */
  readonly fallbacks: readonly Uint8Array[];
}

export function resolveSecret(
  config: Pick<Config, 'secret' | 'production' | 'dataDir'> & Partial<Pick<Config, 'secretFallbacks'>>,
): ResolvedSecret {
  const current = resolveCurrentSecret(config);
  const text = utf8.decode(current.bytes);
  const fallbacks = (config.secretFallbacks ?? []).filter((older) => older !== text).map((older) => utf8.encode(older));
  return { ...current, fallbacks };
}

function resolveCurrentSecret(config: Pick<Config, 'secret' | 'production' | 'dataDir'>): Omit<ResolvedSecret, 'fallbacks'> {
  if (config.secret !== undefined) return { bytes: utf8.encode(config.secret), source: 'environment' };
  if (config.production) {
    throw new ConfigError(['SESAME_SECRET is required when NODE_ENV=production (at least 32 characters, e.g. `openssl rand -base64 48`)']);
  }
  const file = join(config.dataDir, SECRET_FILE);
  const existing = readSecretFile(file);
  if (existing !== null) return { bytes: utf8.encode(existing), source: 'data-dir' };

  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const generated = randomBytes(48).toString('base64url');
  try {
    // `wx`: never overwrite a secret another process wrote a moment ago; re-read theirs instead.
    writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const raced = readSecretFile(file);
    if (raced === null) throw new ConfigError([`${file} exists but holds no usable secret`]);
    return { bytes: utf8.encode(raced), source: 'data-dir' };
  }
  chmodSync(file, 0o600);
  return { bytes: utf8.encode(generated), source: 'generated' };
}

function readSecretFile(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (text.length < 32) throw new ConfigError([`${file} holds a secret shorter than 32 characters; delete it to generate a new one`]);
  return text;
}
