/** What every admin module shares: its dependencies, the admin caller of the engine, wire helpers. */
import type { CallerClient, Clock, Engine, Policy, Store } from '@sesame/core';
import { invalidArgument } from '@sesame/core';
import type { Context } from 'hono';
import { readJsonBody } from '../http/body.js';
import type { ServerKeys } from '../auth/derived-keys.js';

export interface AdminDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly clock: Clock;
  readonly keys: ServerKeys;
  /** Base URL of this server; admin links point at `<publicUrl>/admin/verify`. */
  readonly publicUrl: string;
  /** The policy in force (the `policy` setting, or the default policy). */
  readonly policy: () => Promise<Policy>;
  /** The policy when none is saved. */
  readonly defaultPolicy: Policy;
  readonly devInbox: boolean;
  readonly maxBodyBytes: number;
  /** Wakes the outbox worker after an email was queued. */
  readonly onEmailQueued?: () => void;
  /** The deployment's send budgets, shown beside each client's own. */
  readonly sendBudgets?: { readonly perClientPerMinute: number; readonly deploymentPerMinute: number };
}

export const ADMIN_CLIENT_ID = 'sesame-admin';

/** The engine's caller for admin sign-in and test emails: links may only point at the dashboard. */
export function adminCaller(publicUrl: string): CallerClient {
  return { id: ADMIN_CLIENT_ID, redirectUris: [{ uri: adminVerifyUrl(publicUrl), match: 'exact' }] };
}

export function adminVerifyUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/admin/verify`;
}

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A JSON object body, or INVALID_ARGUMENT. */
export async function readObject(c: Context, deps: Pick<AdminDeps, 'maxBodyBytes'>): Promise<Record<string, unknown>> {
  const body = await readJsonBody(c, deps.maxBodyBytes);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidArgument([{ field: 'body', description: 'must be a JSON object' }]);
  }
  return body as Record<string, unknown>;
}

/** A whole number in [min, max] from a query parameter, `fallback` when absent; INVALID_ARGUMENT otherwise. */
export function queryInt(value: string | undefined, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw invalidArgument([{ field, description: `must be a whole number from ${min} to ${max}` }]);
  }
  return n;
}

/** A JSON document stored in the audit log: parsed back for the wire, `null` stays null. */
export function parseJsonOrNull(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
