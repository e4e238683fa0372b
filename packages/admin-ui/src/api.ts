/**
 * The admin JSON API (docs/ADMIN_API.md), and nothing else: every call the dashboard makes goes
 * through `api()`, which sends the CSRF token on every state-changing request, turns the REST
 * error body into an `ApiError`, and tells the app when the session is gone (401).
 */

export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

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
// Wire types

export type PasswordlessType = 'OTP' | 'LINK' | 'LINK_OTP';
export type TemplateType = 'SIGNIN' | 'SIGNUP';

export interface Setup {
  readonly admins_exist: boolean;
  readonly dev_inbox: boolean;
}

export interface Session {
  readonly email: string;
  readonly csrf_token: string;
}

export interface Window {
  max: number;
  window_seconds: number;
}

export interface RedirectUri {
  uri: string;
  match: 'exact' | 'prefix';
}

export interface Policy {
  passwordless_type: PasswordlessType;
  expiry_seconds: number;
  otp_format: 'NUMERIC' | 'ALPHANUMERIC';
  otp_length: number;
  same_browser_enforcement: boolean;
  otp_attempts_per_request: number;
  emails_per_address: Window;
  failed_otp_per_address: Window;
  allowed_redirect_uris: RedirectUri[];
}

export interface PolicyAnswer {
  readonly policy: Policy;
  readonly defaults: Policy;
  /** Shape not fixed by the contract: read through `rangeOf()`. */
  readonly ranges: unknown;
  readonly updated_at: string | null;
}

export interface AuditEntry {
  readonly id: string | number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface AuditPage {
  readonly entries: readonly AuditEntry[];
  readonly next_before: string | number | null;
}

export interface Template {
  subject: string;
  html: string;
  text: string;
  /** Names of request `template_variables` this template may use (beyond the built-ins). */
  custom_variables?: string[];
  is_default?: boolean;
}

function templateBody(template: Template): Record<string, unknown> {
  return {
    subject: template.subject,
    html: template.html,
    text: template.text,
    ...(template.custom_variables && template.custom_variables.length > 0 ? { custom_variables: template.custom_variables } : {}),
  };
}

export interface TemplatesAnswer {
  readonly templates: Record<TemplateType, Template>;
  readonly variables: readonly string[];
}

export interface Rendered {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

export interface Brand {
  app_name: string;
  logo_url: string | null;
  accent_color: string;
  from_name: string;
}

export interface BrandAnswer {
  readonly brand: Brand;
  readonly is_default: boolean;
}

export interface Client {
  readonly id: string;
  readonly name: string;
  readonly redirect_uris: readonly string[];
  readonly created_at: string;
  readonly revoked_at: string | null;
  readonly last_used_at: string | null;
  /** Grows by one at each rotation; tokens issued under an earlier version are refused. */
  readonly secret_version: number;
  /** The client's own send budget (sends a minute); null: the deployment's default. */
  readonly sends_per_minute: number | null;
}

export interface ClientList {
  readonly clients: readonly Client[];
  /** The deployment's default per-client budget (sends a minute). */
  readonly default_sends_per_minute: number | null;
}

export interface ClientWithSecret {
  readonly client: Client;
  readonly client_secret: string;
}

export type AuthStatus = 'pending' | 'verified' | 'expired' | 'locked';

export interface TimelineEvent {
  readonly at: string;
  readonly kind: string;
  readonly attempt: number | null;
  readonly detail: string | null;
}

export interface AuthRequestRow {
  readonly ref: string;
  readonly email_masked: string;
  readonly type: PasswordlessType;
  readonly template: TemplateType;
  readonly status: AuthStatus;
  readonly created_at: string;
  readonly expires_at: string;
  readonly consumed_at: string | null;
  readonly attempts: number;
  readonly sends: number;
  readonly delivery: 'queued' | 'sent' | 'failed' | 'superseded' | null;
  readonly timeline: readonly TimelineEvent[];
}

export interface ActivityPage {
  readonly auth_requests: readonly AuthRequestRow[];
  readonly next_cursor: string | null;
}

export interface InboxMessage {
  readonly id: string;
  readonly to: string;
  readonly from: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly created_at: string;
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
  const answer = await request<{ csrf_token: string }>('GET', '/csrf');
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
  setup: () => request<Setup>('GET', '/setup'),
  session: () => request<Session>('GET', '/session'),
  startSession: (email: string) => request<{ status: string; expires_in: number }>('POST', '/session/start', { email }),
  verifySession: (credential: { code: string } | { link_token: string }) => request<Session>('POST', '/session/verify', credential),
  logout: () => request<undefined>('POST', '/session/logout'),

  policy: () => request<PolicyAnswer>('GET', '/policy'),
  savePolicy: (policy: Policy) => request<{ policy: Policy; updated_at: string | null }>('PUT', '/policy', policy),
  audit: (before?: string | number | null) => request<AuditPage>('GET', `/audit${query({ limit: 20, before })}`),

  templates: () => request<TemplatesAnswer>('GET', '/templates'),
  saveTemplate: (type: TemplateType, template: Template) => request<unknown>('PUT', `/templates/${type}`, templateBody(template)),
  resetTemplate: (type: TemplateType) => request<unknown>('DELETE', `/templates/${type}`),
  preview: (type: TemplateType, template: Template, brand?: Brand) =>
    request<Rendered>('POST', '/templates/preview', { template: type, ...templateBody(template), ...(brand ? { brand } : {}) }),
  testEmail: (type: TemplateType) => request<unknown>('POST', '/templates/test-email', { template: type }),
  brand: () => request<BrandAnswer>('GET', '/brand'),
  saveBrand: (brand: Partial<Brand>) => request<unknown>('PUT', '/brand', brand),
  resetBrand: () => request<unknown>('DELETE', '/brand'),

  clients: () => request<ClientList>('GET', '/clients'),
  createClient: (name: string, redirectUris: readonly string[], sendsPerMinute: number | null = null) =>
    request<ClientWithSecret>('POST', '/clients', {
      name,
      ...(redirectUris.length > 0 ? { redirect_uris: redirectUris } : {}),
      ...(sendsPerMinute === null ? {} : { sends_per_minute: sendsPerMinute }),
    }),
  setClientSendLimit: (id: string, sendsPerMinute: number | null) =>
    request<{ client: Client }>('PUT', `/clients/${enc(id)}/send-limit`, { sends_per_minute: sendsPerMinute }),
  rotateClient: (id: string) => request<ClientWithSecret>('POST', `/clients/${enc(id)}/rotate`),
  revokeClient: (id: string) => request<{ client: Client }>('POST', `/clients/${enc(id)}/revoke`),

  activity: (filters: { email?: string; status?: string; cursor?: string | null; limit?: number }) =>
    request<ActivityPage>(
      'GET',
      `/activity${query({ email: filters.email, status: filters.status, cursor: filters.cursor, limit: filters.limit ?? 25 })}`,
    ),

  devInbox: () => request<{ messages: readonly InboxMessage[] }>('GET', '/dev-inbox'),
};

// ---------------------------------------------------------------------------------------------
// Field violations

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
