/**
 * Email templates and branding over the admin API (docs/ADMIN_API.md "Templates and branding").
 * Both are settings the outbox worker reads per batch (`email.templates`, `email.brand`), so a
 * save applies to the next email. A template is checked with packages/email's
 * `checkEmailTemplate` before it is saved or previewed, naming the part: syntax problems,
 * variables that are neither built in nor declared in `custom_variables` (names the app sends
 * as template_variables), variables where escaping does not protect them (links, styles,
 * handlers, unquoted attributes), and a rendering for the policy's type that would not show
 * the code or the link. The dashboard's own sign-in emails never use a saved template.
 */
import { TEMPLATE_TYPES, invalidArgument, type FieldViolation, type PasswordlessType, type Store, type TemplateType } from '@sesame/core';
import {
  BRAND_SETTING_KEY,
  BUILT_IN_VARIABLES,
  DEFAULT_BRAND,
  DEFAULT_TEMPLATES,
  PREVIEW_SAMPLE,
  TEMPLATES_SETTING_KEY,
  checkCredentials,
  checkEmailTemplate,
  parseBrand,
  parseTemplates,
  renderEmail,
  type Brand,
  type EmailTemplate,
} from '@sesame/email';
import { Hono } from 'hono';
import type { AppEnv } from '../http/hono-env.js';
import { changeSettingAudited, saveSettingAsAdmin } from './audit.js';
import { adminVerifyUrl, readObject, type AdminDeps } from './common.js';

/**
 * The caller of test emails: not the dashboard's sign-in id, so the worker renders them with the
 * saved template (which is what they test), and their code and link sign no one in.
 */
export const TEST_EMAIL_CLIENT_ID = 'sesame-admin-test';

const LIMITS = { subject: 500, html: 50_000, text: 20_000 } as const;
const PARTS = ['subject', 'html', 'text'] as const;
/** template_variables keys are 2–25 characters; a template tag allows these characters. */
const CUSTOM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{1,24}$/;
const MAX_CUSTOM_VARIABLES = 30;

export interface SavedTemplate extends EmailTemplate {
  readonly custom_variables?: readonly string[];
}

type SavedTemplates = Partial<Record<TemplateType, SavedTemplate>>;

function parseTemplateType(value: unknown): TemplateType {
  if (typeof value === 'string' && (TEMPLATE_TYPES as readonly string[]).includes(value)) return value as TemplateType;
  throw invalidArgument([{ field: 'template', description: `must be one of ${TEMPLATE_TYPES.join(', ')}` }]);
}

/**
 * Reads `{subject, html, text, custom_variables?}` and checks it for a policy of `type`;
 * INVALID_ARGUMENT names the part and the problem.
 */
export function parseTemplateBody(body: Record<string, unknown>, type: PasswordlessType): SavedTemplate {
  const violations: FieldViolation[] = [];
  const parts: Record<string, string> = {};
  for (const part of PARTS) {
    const value = body[part];
    if (typeof value !== 'string' || value.trim() === '') violations.push({ field: part, description: 'must be a non-empty string' });
    else if (value.length > LIMITS[part]) violations.push({ field: part, description: `must be at most ${LIMITS[part]} characters` });
    else parts[part] = value;
  }
  const custom: string[] = [];
  const rawCustom = body.custom_variables ?? body.customVariables;
  if (rawCustom !== undefined && rawCustom !== null) {
    if (!Array.isArray(rawCustom) || rawCustom.length > MAX_CUSTOM_VARIABLES) {
      violations.push({ field: 'custom_variables', description: `must be a list of at most ${MAX_CUSTOM_VARIABLES} names` });
    } else {
      for (const name of rawCustom as unknown[]) {
        if (typeof name !== 'string' || !CUSTOM_NAME.test(name)) {
          violations.push({ field: 'custom_variables', description: 'names must be 2 to 25 letters, digits, _ . or -' });
          break;
        }
        if ((BUILT_IN_VARIABLES as readonly string[]).includes(name)) {
          violations.push({ field: 'custom_variables', description: `{{${name}}} is built in; it cannot be declared` });
          break;
        }
        if (!custom.includes(name)) custom.push(name);
      }
    }
  }
  if (violations.length > 0) throw invalidArgument(violations);

  const template: EmailTemplate = { subject: parts.subject!, html: parts.html!, text: parts.text! };
  violations.push(...checkEmailTemplate(template, { type, customVariables: custom }));
  if (violations.length > 0) throw invalidArgument(violations);
  return custom.length > 0 ? { ...template, custom_variables: custom } : template;
}

/**
 * Before the policy's passwordless type changes: refuses (INVALID_ARGUMENT, field
 * `passwordless_type`) a type whose emails a saved template would not carry, naming the
 * template. Editing or resetting the template first makes the change go through.
 */
export async function assertTemplatesCarry(deps: Pick<AdminDeps, 'store'>, type: PasswordlessType): Promise<void> {
  const saved = await savedTemplates(deps);
  const violations: FieldViolation[] = [];
  for (const name of TEMPLATE_TYPES) {
    const template = saved[name];
    if (!template) continue;
    for (const problem of checkCredentials(template, type)) {
      violations.push({
        field: 'passwordless_type',
        description: `the saved ${name} template's ${problem.field} part ${problem.description}; edit or reset that template first`,
      });
    }
  }
  if (violations.length > 0) throw invalidArgument(violations);
}

/**
 * Removes the saved templates of `types` (the defaults apply again), one audited setting change
 * per template that was saved. Answers the types that were reset. The dashboard and
 * `sesame templates reset` both use it.
 */
export async function resetTemplates(
  store: Pick<Store, 'getSetting' | 'changeSetting'>,
  types: readonly TemplateType[],
  actor: string,
  now: number,
): Promise<TemplateType[]> {
  const reset: TemplateType[] = [];
  for (const type of types) {
    const saved = await savedTemplates({ store });
    const before = saved[type];
    if (!before) continue;
    const rest: SavedTemplates = Object.fromEntries(Object.entries(saved).filter(([name]) => name !== type));
    await changeSettingAudited(store, now, {
      key: TEMPLATES_SETTING_KEY,
      value: Object.keys(rest).length === 0 ? null : JSON.stringify(rest),
      actor,
      action: 'template.reset',
      before: { template: type, ...before },
      after: null,
    });
    reset.push(type);
  }
  return reset;
}

async function savedTemplates(deps: { readonly store: Pick<Store, 'getSetting'> }): Promise<SavedTemplates> {
  const raw = await deps.store.getSetting(TEMPLATES_SETTING_KEY);
  if (raw === null) return {};
  const parsed = JSON.parse(raw) as Record<string, { custom_variables?: unknown } | undefined>;
  const templates = parseTemplates(parsed) as SavedTemplates;
  const out: Record<string, SavedTemplate> = {};
  for (const [type, template] of Object.entries(templates)) {
    const custom = parsed[type]?.custom_variables;
    out[type] = Array.isArray(custom)
      ? { ...template, custom_variables: custom.filter((name): name is string => typeof name === 'string') }
      : template;
  }
  return out;
}

// ---- brand ----------------------------------------------------------------------------------

export function toWireBrand(brand: Brand) {
  return { app_name: brand.appName, logo_url: brand.logoUrl, accent_color: brand.accentColor, from_name: brand.fromName };
}

const BRAND_FIELDS = { app_name: 'appName', logo_url: 'logoUrl', accent_color: 'accentColor', from_name: 'fromName' } as const;

/** A partial wire brand over `base`; INVALID_ARGUMENT names each bad field. */
export function parseWireBrand(input: unknown, base: Brand): Brand {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw invalidArgument([{ field: 'brand', description: 'must be an object' }]);
  const raw = input as Record<string, unknown>;
  const partial: Record<string, unknown> = {};
  for (const [wire, core] of Object.entries(BRAND_FIELDS)) {
    if (Object.hasOwn(raw, wire)) partial[core] = raw[wire];
    else if (Object.hasOwn(raw, core)) partial[core] = raw[core];
  }
  return parseBrand(partial, base);
}

async function savedBrand(deps: Pick<AdminDeps, 'store'>): Promise<Brand | null> {
  const raw = await deps.store.getSetting(BRAND_SETTING_KEY);
  return raw === null ? null : parseBrand(JSON.parse(raw), DEFAULT_BRAND);
}

// ---- routes ---------------------------------------------------------------------------------

export function templateRoutes(deps: AdminDeps): Hono<AppEnv> {
  const { store } = deps;
  const routes = new Hono<AppEnv>();

  routes.get('/', async (c) => {
    const saved = await savedTemplates(deps);
    const templates: Record<string, object> = {};
    for (const type of TEMPLATE_TYPES) {
      const own = saved[type];
      const template = own ?? DEFAULT_TEMPLATES[type];
      templates[type] = {
        subject: template.subject,
        html: template.html,
        text: template.text,
        custom_variables: own?.custom_variables ?? [],
        is_default: own === undefined,
      };
    }
    return c.json({ templates, variables: [...BUILT_IN_VARIABLES] });
  });

  routes.post('/preview', async (c) => {
    const body = await readObject(c, deps);
    const type = parseTemplateType(body.template);
    const policy = await deps.policy();
    const template = parseTemplateBody(body, policy.passwordlessType);
    const base = (await savedBrand(deps)) ?? DEFAULT_BRAND;
    const brand = body.brand === undefined || body.brand === null ? base : parseWireBrand(body.brand, base);
    const now = deps.clock.now();
    // Declared variables show as a visible placeholder: their values come with each send.
    const sampleVariables = Object.fromEntries((template.custom_variables ?? []).map((name) => [name, `[${name}]`]));
    const rendered = renderEmail({
      template: type,
      templates: { [type]: template },
      brand,
      templateVariables: sampleVariables,
      email: c.get('adminEmail'),
      otp: policy.passwordlessType === 'LINK' ? null : PREVIEW_SAMPLE.otp,
      link: policy.passwordlessType === 'OTP' ? null : PREVIEW_SAMPLE.link,
      expiresAt: now + policy.expirySeconds * 1000,
      now,
    });
    return c.json(rendered);
  });

  routes.post('/test-email', async (c) => {
    const body = await readObject(c, deps);
    const type = parseTemplateType(body.template);
    const caller = { id: TEST_EMAIL_CLIENT_ID, redirectUris: [{ uri: adminVerifyUrl(deps.publicUrl), match: 'exact' as const }] };
    await deps.engine.send({ email: c.get('adminEmail'), template: type, magiclinkAuthUri: adminVerifyUrl(deps.publicUrl) }, caller);
    deps.onEmailQueued?.();
    return c.json({ status: 'queued' }, 202);
  });

  routes.put('/:type', async (c) => {
    const type = parseTemplateType(c.req.param('type'));
    const template = parseTemplateBody(await readObject(c, deps), (await deps.policy()).passwordlessType);
    const saved = await savedTemplates(deps);
    await saveSettingAsAdmin(
      c,
      deps,
      TEMPLATES_SETTING_KEY,
      'template.update',
      { ...saved, [type]: template },
      {
        before: saved[type] ? { template: type, ...saved[type] } : null,
        after: { template: type, ...template },
      },
    );
    return c.json({ template: type, ...template, custom_variables: template.custom_variables ?? [], is_default: false });
  });

  routes.delete('/:type', async (c) => {
    const type = parseTemplateType(c.req.param('type'));
    await resetTemplates(store, [type], c.get('adminEmail'), deps.clock.now());
    const template = DEFAULT_TEMPLATES[type];
    return c.json({ template: type, ...template, custom_variables: [], is_default: true });
  });

  return routes;
}

export function brandRoutes(deps: AdminDeps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get('/', async (c) => {
    const saved = await savedBrand(deps);
    return c.json({ brand: toWireBrand(saved ?? DEFAULT_BRAND), is_default: saved === null });
  });

  routes.put('/', async (c) => {
    const body = await readObject(c, deps);
    const saved = await savedBrand(deps);
    const current = saved ?? DEFAULT_BRAND;
    // The fields, or `{brand: {...}}` as GET answers it.
    const next = parseWireBrand(Object.hasOwn(body, 'brand') && typeof body.brand === 'object' ? body.brand : body, current);
    await saveSettingAsAdmin(c, deps, BRAND_SETTING_KEY, 'brand.update', next, {
      before: saved ? toWireBrand(saved) : null,
      after: toWireBrand(next),
    });
    return c.json({ brand: toWireBrand(next), is_default: false });
  });

  routes.delete('/', async (c) => {
    const saved = await savedBrand(deps);
    await saveSettingAsAdmin(c, deps, BRAND_SETTING_KEY, 'brand.reset', null, { before: saved ? toWireBrand(saved) : null, after: null });
    return c.json({ brand: toWireBrand(DEFAULT_BRAND), is_default: true });
  });

  return routes;
}
