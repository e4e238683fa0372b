/** What every admin module shares: its dependencies, the admin caller of the engine, wire helpers. */
import type { CallerClient, Clock, Engine, FieldViolation, Policy, Store } from '@sesame/core';
import { invalidArgument } from '@sesame/core';
import type { Context } from 'hono';
import type { z } from 'zod';
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

/**
 * Parses `input` with a wire schema, or throws INVALID_ARGUMENT with one violation per field (its
 * wire path, the schema's own message); a problem with the whole input is named `root`.
 */
export function parseWire<S extends z.ZodType>(schema: S, input: unknown, root: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const seen = new Set<string>();
  const violations: FieldViolation[] = [];
  for (const issue of parsed.error.issues) {
    const field = issue.path.length === 0 ? root : issue.path.map(String).join('.');
    if (seen.has(field)) continue;
    seen.add(field);
    violations.push({ field, description: issue.message });
  }
  throw invalidArgument(violations);
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
