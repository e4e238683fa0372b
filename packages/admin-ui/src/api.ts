/**
 * The admin JSON API (docs/ADMIN_API.md), and nothing else: every call the dashboard makes goes
 * through `api()`, which sends the CSRF token on every state-changing request, turns the REST
 * error body into an `ApiError`, and tells the app when the session is gone (401).
 */
import type { AdminWire } from '@sesame/server';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fieldViolations: readonly FieldViolation[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// ---------------------------------------------------------------------------------------------
// Wire types: the server's own (its admin wire schemas), imported as types only.

export type FieldViolation = AdminWire.FieldViolation;
export type TemplateType = AdminWire.TemplateType;
export type Setup = AdminWire.Setup;
export type Session = AdminWire.Session;
export type Policy = AdminWire.Policy;
export type RedirectUri = AdminWire.RedirectUri;
export type PolicyAnswer = AdminWire.PolicyAnswer;
export type AuditEntry = AdminWire.AuditEntry;
export type Template = AdminWire.Template;
export type TemplateInput = AdminWire.TemplateInput;
export type Rendered = AdminWire.Rendered;
export type Brand = AdminWire.Brand;
export type Client = AdminWire.Client;
export type AuthRequestRow = AdminWire.AuthRequestRow;
export type ActivityPage = AdminWire.ActivityPage;
export type InboxMessage = AdminWire.InboxMessage;

function templateBody(template: TemplateInput): TemplateInput {
  return {
    subject: template.subject,
    html: template.html,
    text: template.text,
    ...(template.custom_variables && template.custom_variables.length > 0 ? { custom_variables: template.custom_variables } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Transport

const BASE = '/admin/api';
let csrfToken: string | undefined;
let onUnauthenticated: (() => void) | undefined;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when an authenticated call answers 401: the session expired or was revoked. */
export function onSessionLost(callback: () => void): void {
  onUnauthenticated = callback;
}

export async function fetchCsrfToken(): Promise<string> {
  const answer = await request<AdminWire.CsrfToken>('GET', '/csrf');
  csrfToken = answer.csrf_token;
  return csrfToken;
}

const UNAUTHENTICATED_ROUTES = new Set(['/csrf', '/setup', '/session', '/session/start', '/session/verify']);

async function request<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const changesState = method !== 'GET' && method !== 'HEAD';
  if (changesState) {
    headers['X-CSRF-Token'] = csrfToken ?? (await fetchCsrfToken());
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${BASE}${path}`, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'UNAVAILABLE', 'Sesame did not answer. Check that the server is running, then try again.');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (response.ok) return parsed as T;

  const error = errorFrom(response.status, parsed);
  // The CSRF cookie may have lapsed: fetch a fresh token once and try again.
  if (error.code === 'CSRF_REJECTED' && changesState && !retried) {
    await fetchCsrfToken();
    return request<T>(method, path, body, true);
  }
  if (response.status === 401 && !UNAUTHENTICATED_ROUTES.has(path)) onUnauthenticated?.();
  throw error;
}

function errorFrom(status: number, body: unknown): ApiError {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = (body as { error: { code?: unknown; message?: unknown; field_violations?: unknown } }).error;
    const code = typeof error.code === 'string' ? error.code : 'INTERNAL';
    const message = typeof error.message === 'string' ? error.message : `Request failed (${status}).`;
    const violations = Array.isArray(error.field_violations) ? (error.field_violations as FieldViolation[]) : [];
    return new ApiError(status, code, message, violations);
  }
  return new ApiError(status, status === 401 ? 'UNAUTHENTICATED' : 'INTERNAL', `Request failed (${status}).`);
}

const enc = encodeURIComponent;

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

// ---------------------------------------------------------------------------------------------
// Routes

export const api = {
  setup: () => request<AdminWire.Setup>('GET', '/setup'),
  session: () => request<AdminWire.Session>('GET', '/session'),
  startSession: (email: string) => request<AdminWire.SessionStarted>('POST', '/session/start', { email }),
  verifySession: (credential: AdminWire.SessionVerify) => request<AdminWire.Session>('POST', '/session/verify', credential),
  logout: () => request<undefined>('POST', '/session/logout'),

  policy: () => request<AdminWire.PolicyAnswer>('GET', '/policy'),
  savePolicy: (policy: AdminWire.Policy) => request<AdminWire.PolicySaved>('PUT', '/policy', policy),
  audit: (before?: string | null) => request<AdminWire.AuditPage>('GET', `/audit${query({ limit: 20, before })}`),

  templates: () => request<AdminWire.TemplatesAnswer>('GET', '/templates'),
  saveTemplate: (type: TemplateType, template: TemplateInput) =>
    request<AdminWire.SavedTemplate>('PUT', `/templates/${type}`, templateBody(template)),
  resetTemplate: (type: TemplateType) => request<AdminWire.SavedTemplate>('DELETE', `/templates/${type}`),
  preview: (type: TemplateType, template: TemplateInput, brand?: AdminWire.BrandFields) =>
    request<AdminWire.Rendered>('POST', '/templates/preview', { template: type, ...templateBody(template), ...(brand ? { brand } : {}) }),
  testEmail: (type: TemplateType) => request<AdminWire.TestEmailQueued>('POST', '/templates/test-email', { template: type }),
  brand: () => request<AdminWire.BrandAnswer>('GET', '/brand'),
  saveBrand: (brand: AdminWire.BrandFields) => request<AdminWire.BrandAnswer>('PUT', '/brand', brand),
  resetBrand: () => request<AdminWire.BrandAnswer>('DELETE', '/brand'),

  clients: () => request<AdminWire.ClientList>('GET', '/clients'),
  createClient: (name: string, redirectUris: readonly string[], sendsPerMinute: number | null = null) =>
    request<AdminWire.ClientWithSecret>('POST', '/clients', {
      name,
      ...(redirectUris.length > 0 ? { redirect_uris: redirectUris } : {}),
      ...(sendsPerMinute === null ? {} : { sends_per_minute: sendsPerMinute }),
    }),
  setClientSendLimit: (id: string, sendsPerMinute: number | null) =>
    request<AdminWire.ClientAnswer>('PUT', `/clients/${enc(id)}/send-limit`, { sends_per_minute: sendsPerMinute }),
  rotateClient: (id: string) => request<AdminWire.ClientWithSecret>('POST', `/clients/${enc(id)}/rotate`),
  revokeClient: (id: string) => request<AdminWire.ClientAnswer>('POST', `/clients/${enc(id)}/revoke`),

  activity: (filters: { email?: string; status?: string; cursor?: string | null; limit?: number }) =>
    request<AdminWire.ActivityPage>(
      'GET',
      `/activity${query({ email: filters.email, status: filters.status, cursor: filters.cursor, limit: filters.limit ?? 25 })}`,
    ),

  devInbox: () => request<AdminWire.InboxList>('GET', '/dev-inbox'),
};

// ---------------------------------------------------------------------------------------------
// Field violations

/** The field violations of a refusal (INVALID_ARGUMENT), none for any other error. */
export function violationsOf(error: unknown): FieldViolation[] {
  return error instanceof ApiError ? [...error.fieldViolations] : [];
}

/** The violation for a form field, matching `expiry_seconds`, `policy.expiry_seconds`, `emails_per_address.max`… */
export function violationFor(violations: readonly FieldViolation[], field: string): string | undefined {
  const hit = violations.find((v) => v.field === field || v.field.endsWith(`.${field}`) || v.field.replace(/\[(\d+)\]/g, '.$1') === field);
  return hit?.description;
}

/** A range for a (dotted) policy field, whatever shape the API gives: `{min,max}` or `[min,max]`, flat or nested. */
export function rangeOf(ranges: unknown, field: string): { min?: number; max?: number; values?: readonly string[] } | undefined {
  if (typeof ranges !== 'object' || ranges === null) return undefined;
  const table = ranges as Record<string, unknown>;
  let node: unknown = table[field];
  if (node === undefined) {
    node = field
      .split('.')
      .reduce<unknown>((at, key) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined), table);
  }
  if (Array.isArray(node)) {
    if (node.length === 2 && typeof node[0] === 'number' && typeof node[1] === 'number') return { min: node[0], max: node[1] };
    if (node.every((v) => typeof v === 'string')) return { values: node };
    return undefined;
  }
  if (typeof node === 'object' && node !== null) {
    const { min, max, values } = node as { min?: unknown; max?: unknown; values?: unknown };
    const out: { min?: number; max?: number; values?: readonly string[] } = {};
    if (typeof min === 'number') out.min = min;
    if (typeof max === 'number') out.max = max;
    if (Array.isArray(values)) out.values = values.filter((v): v is string => typeof v === 'string');
    return out.min !== undefined || out.max !== undefined || out.values ? out : undefined;
  }
  return undefined;
}
