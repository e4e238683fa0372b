/**
 * Where the worker gets the brand and the templates. The server stores both as settings and
 * edits them in the dashboard; the worker reads them once per batch, so an edit applies to the
 * next email without a restart.
 */
import type { Store, TemplateType } from '@sesame/core';
import { TEMPLATE_TYPES } from '@sesame/core';
import { DEFAULT_BRAND, parseBrand, type Brand } from './template/brand.js';
import { declaredTemplateVariables } from './template/check.js';
import { DEFAULT_TEMPLATES, type EmailTemplate, type EmailTemplates } from './template/defaults.js';

export interface EmailContent {
  readonly brand: Brand;
  /** Custom templates by type; a type without one uses the default. */
  readonly templates: Partial<EmailTemplates>;
}

export type EmailContentSource = () => EmailContent | Promise<EmailContent>;

export const DEFAULT_CONTENT: EmailContent = { brand: DEFAULT_BRAND, templates: {} };

/** Setting keys (JSON documents) read by `settingsContentSource`. */
export const BRAND_SETTING_KEY = 'email.brand';
export const TEMPLATES_SETTING_KEY = 'email.templates';

/**
 * Reads the brand (`{appName, logoUrl, accentColor, fromName}`) and the templates
 * (`{SIGNIN?: {subject, html, text}, SIGNUP?: …}`) from the store's settings; an unset setting
 * means the defaults. `base` supplies defaults the server knows (e.g. an app name from config).
 */
export function settingsContentSource(store: Pick<Store, 'getSetting'>, base: Brand = DEFAULT_BRAND): EmailContentSource {
  return async () => {
    const [brandJson, templatesJson] = await Promise.all([store.getSetting(BRAND_SETTING_KEY), store.getSetting(TEMPLATES_SETTING_KEY)]);
    return {
      brand: brandJson === null ? base : parseBrand(JSON.parse(brandJson), base),
      templates: templatesJson === null ? {} : parseTemplates(JSON.parse(templatesJson)),
    };
  };
}

/** Keeps well-shaped entries only (three strings each); validation of their syntax happens on save. */
export function parseTemplates(value: unknown): Partial<EmailTemplates> {
  const out: Partial<Record<TemplateType, EmailTemplate>> = {};
  if (value === null || typeof value !== 'object') return out;
  const record = value as Record<string, unknown>;
  for (const type of TEMPLATE_TYPES) {
    const entry = record[type];
    if (entry === null || typeof entry !== 'object') continue;
    const { subject, html, text } = entry as Record<string, unknown>;
    if (typeof subject === 'string' && typeof html === 'string' && typeof text === 'string') out[type] = { subject, html, text };
  }
  return out;
}

/**
 * The custom variables the template in force for a type uses (the saved one, else the
 * default): what the engine keeps of a send's template_variables. Memoised on the setting's
 * text, so a send pays one (cached) settings read and an edit applies at once.
 */
export function declaredVariablesSource(store: Pick<Store, 'getSetting'>): (template: TemplateType) => Promise<ReadonlySet<string>> {
  let memo: { readonly raw: string | null; readonly byType: Map<TemplateType, ReadonlySet<string>> } = { raw: null, byType: new Map() };
  return async (template) => {
    const raw = await store.getSetting(TEMPLATES_SETTING_KEY);
    if (memo.raw !== raw) memo = { raw, byType: new Map() };
    let names = memo.byType.get(template);
    if (names === undefined) {
      const saved = raw === null ? {} : parseTemplates(parseOrNull(raw));
      names = declaredTemplateVariables(saved[template] ?? DEFAULT_TEMPLATES[template]);
      memo.byType.set(template, names);
    }
    return names;
  };
}

/** An unreadable setting means the defaults, as for the worker: a send never fails on it. */
function parseOrNull(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return null;
  }
}
