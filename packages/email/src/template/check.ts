/**
 * The checks a custom template passes before it is saved:
 *
 *   - syntax (render.ts) and variables: built in, or declared as the app's template_variables;
 *   - placement in the HTML (html-context.ts): no variable where escaping does not protect;
 *   - credentials: the template is RENDERED with sample credentials for the policy's type (OTP:
 *     the code; LINK: the link; LINK_OTP: both) and every credential must be in the rendered
 *     text part and visible in the rendered HTML part. Sections on values a send may leave
 *     empty (custom variables, the logo) render nothing in this check, either way round, so a
 *     credential counts only where every send shows it.
 *
 * "Visible" in HTML means: in text outside comments, <title>, <style>, <textarea> and attributes, and not
 * inside an element that is `hidden` or whose inline style hides it (display:none,
 * visibility:hidden, mso-hide:all, opacity near 0, a tiny font-size, color:transparent, a zero
 * height or width with overflow:hidden, or a style that cannot be read plainly). For the link,
 * the href of a visible <a> around visible text or an image also counts. Colours, positioning
 * and external CSS are not judged: the check stops mistakes, it does not prove legibility.
 */
import { randomBytes } from 'node:crypto';
import type { PasswordlessType } from '@sesame/core';
import { DEFAULT_BRAND } from './brand.js';
import type { EmailTemplate } from './defaults.js';
import { checkHtmlPlacement } from './html-context.js';
import { scanHtml, VOID_ELEMENTS, type HtmlAttribute } from './html-scan.js';
import { escapeHtml, parseTemplate, renderTemplate, validateTemplate } from './render.js';
import { BUILT_IN_VARIABLES, buildVariables } from './variables.js';

export type TemplatePart = 'subject' | 'html' | 'text';

export interface TemplateViolation {
  readonly field: TemplatePart;
  readonly description: string;
}

const PARTS: readonly TemplatePart[] = ['subject', 'html', 'text'];
const BUILT_INS: ReadonlySet<string> = new Set(BUILT_IN_VARIABLES);
/** Built-ins every send fills with a non-empty value, whatever the brand and the request. */
const ALWAYS_SET: ReadonlySet<string> = new Set([
  'email',
  'app_name',
  'accent_color',
  'accent_text_color',
  'expiry_time_relative',
  'expire_time',
  'expiry_time',
]);

export interface TemplateCheckOptions {
  /** The policy's passwordless type: which credentials every email must carry. */
  readonly type: PasswordlessType;
  /** Names the app sends as template_variables, declared with the template. */
  readonly customVariables?: readonly string[];
}

/** Every reason to refuse `template`, by part; empty when it may be saved. */
export function checkEmailTemplate(template: EmailTemplate, options: TemplateCheckOptions): TemplateViolation[] {
  const known = [...BUILT_IN_VARIABLES, ...(options.customVariables ?? [])];
  const violations: TemplateViolation[] = [];
  for (const field of PARTS) {
    const result = validateTemplate(template[field], known);
    for (const problem of result.problems) violations.push({ field, description: problem });
    for (const name of result.unknownVariables) violations.push({ field, description: `unknown variable {{${name}}}` });
  }
  for (const description of checkHtmlPlacement(template.html, BUILT_INS)) violations.push({ field: 'html', description });
  // Credentials are judged on a template that parses; otherwise the syntax problems say enough.
  if (violations.length === 0) violations.push(...checkCredentials(template, options.type));
  return violations;
}

/** The credentials a `type` email carries. */
export function credentialsFor(type: PasswordlessType): { readonly otp: boolean; readonly link: boolean } {
  return { otp: type !== 'LINK', link: type !== 'OTP' };
}

/** Renders `template` as every send of `type` would show it and names each part that misses a credential. */
export function checkCredentials(template: EmailTemplate, type: PasswordlessType): TemplateViolation[] {
  const wanted = credentialsFor(type);
  // Random each time, so no literal text in a template can pass for a credential.
  const nonce = randomBytes(12).toString('hex');
  const otp = wanted.otp ? `C${nonce}` : null;
  // With `&`, so the HTML part is matched as the renderer escapes it.
  const link = wanted.link ? `https://sample.invalid/verify?link_token=${nonce}&check=1` : null;
  const now = Date.UTC(2030, 0, 1);
  const variables = buildVariables({ email: 'sample@example.com', otp, link, expiresAt: now + 300_000, now }, DEFAULT_BRAND);
  const uncertain = new Set<string>();
  for (const part of PARTS) {
    for (const name of parseTemplate(template[part]).names)
      if (!ALWAYS_SET.has(name) && name !== 'otp' && name !== 'link') uncertain.add(name);
  }

  const violations: TemplateViolation[] = [];
  const text = renderTemplate(template.text, variables, 'text', uncertain);
  const html = visibleCredentials(renderTemplate(template.html, variables, 'html', uncertain), otp, link);
  const hideable = 'it is missing, or only inside a section that a send may hide';
  if (otp !== null && !text.includes(otp))
    violations.push({ field: 'text', description: `must include the code ({{otp}}) in every ${type} email: ${hideable}` });
  if (link !== null && !text.includes(link))
    violations.push({ field: 'text', description: `must include the link ({{link}}) in every ${type} email: ${hideable}` });
  const hiddenPlaces = 'in a comment, an attribute, <title>, <style> or a hidden element';
  if (otp !== null && !html.otp) {
    violations.push({
      field: 'html',
      description: `must include the code ({{otp}}) as visible text in every ${type} email: ${hideable}, or ${hiddenPlaces}`,
    });
  }
  if (link !== null && !html.link) {
    violations.push({
      field: 'html',
      description: `must include the link ({{link}}) in every ${type} email, as visible text or as the href of a visible <a> around text: ${hideable}, or ${hiddenPlaces}`,
    });
  }
  return violations;
}

/** Whether rendered HTML shows the code and the link (see the module comment for "shows"). */
export function visibleCredentials(html: string, otp: string | null, link: string | null): { otp: boolean; link: boolean } {
  const shownOtp = otp === null ? null : escapeHtml(otp);
  const shownLink = link === null ? null : escapeHtml(link);
  const found = { otp: false, link: false };
  const stack: { readonly name: string; readonly hidden: boolean; readonly anchor: boolean }[] = [];
  // Counts over `stack`, kept as it changes (a long template must not cost depth × tokens).
  const open = { hidden: 0, anchors: 0, byName: new Map<string, number>() };
  // An element closed by another's end tag may be reopened by the browser (formatting
  // elements are): once a hiding element is closed that way, nothing after it counts.
  let restHidden = false;
  const hidden = (): boolean => restHidden || open.hidden > 0;
  const inAnchor = (): boolean => open.anchors > 0;

  for (const token of scanHtml(html)) {
    if (token.kind === 'text') {
      // Only markup text: not <title> or <style>, nor a <textarea>'s value (form controls are
      // not page text, and many mail clients drop them).
      if (token.content !== 'data' || hidden()) continue;
      if (shownOtp !== null && token.text.includes(shownOtp)) found.otp = true;
      if (shownLink !== null && (token.text.includes(shownLink) || (inAnchor() && token.text.trim() !== ''))) found.link = true;
    } else if (token.kind === 'start') {
      const hides = hidesElement(token.attributes);
      if (token.name === 'img' && !hides && !hidden() && inAnchor()) found.link = true;
      const href = token.attributes.find((a) => a.name === 'href');
      const anchor = token.name === 'a' && shownLink !== null && href !== undefined && href.value === shownLink;
      if (!VOID_ELEMENTS.has(token.name)) {
        stack.push({ name: token.name, hidden: hides, anchor });
        open.byName.set(token.name, (open.byName.get(token.name) ?? 0) + 1);
        open.hidden += hides ? 1 : 0;
        open.anchors += anchor ? 1 : 0;
      }
    } else if (token.kind === 'end') {
      // An end tag with no open element of its name is ignored, as a browser ignores it.
      if ((open.byName.get(token.name) ?? 0) === 0) continue;
      for (;;) {
        const closed = stack.pop()!;
        open.byName.set(closed.name, (open.byName.get(closed.name) ?? 1) - 1);
        open.hidden -= closed.hidden ? 1 : 0;
        open.anchors -= closed.anchor ? 1 : 0;
        if (closed.name === token.name) break;
        // Closed by another element's end tag: see `restHidden`.
        if (closed.hidden) restHidden = true;
      }
    }
  }
  return found;
}

function hidesElement(attributes: readonly HtmlAttribute[]): boolean {
  if (attributes.some((a) => a.name === 'hidden')) return true;
  // A browser keeps the first of repeated attributes.
  const style = attributes.find((a) => a.name === 'style');
  if (!style) return false;
  const css = decodeEntities(style.value);
  return css === null || cssHides(css);
}

const NAMED: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  colon: ':',
  semi: ';',
  nbsp: ' ',
  tab: '\t',
  newline: '\n',
  excl: '!',
  lpar: '(',
  rpar: ')',
  num: '#',
  period: '.',
  comma: ',',
  sol: '/',
  percnt: '%',
  hyphen: '-',
  dash: '-',
};

/** Character references as a browser decodes them in an attribute; null when one is not known here. */
function decodeEntities(value: string): string | null {
  const seen = { unknown: false };
  const decoded = value.replace(/&(#[0-9]+|#x[0-9a-f]+|[a-z][a-z0-9]*);?/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\uFFFD';
    }
    const char = NAMED[ref.toLowerCase()];
    if (char === undefined) seen.unknown = true;
    return char ?? whole;
  });
  return seen.unknown ? null : decoded;
}

/** Whether an inline style hides its element. Escapes and comments count as hiding: they could hide anything. */
function cssHides(css: string): boolean {
  const lower = css.toLowerCase();
  if (lower.includes('\\') || lower.includes('/*')) return true;
  const declarations = new Map<string, string>();
  for (const declaration of lower.split(';')) {
    const colon = declaration.indexOf(':');
    if (colon === -1) continue;
    const property = declaration.slice(0, colon).trim();
    const value = declaration
      .slice(colon + 1)
      .replace(/!\s*important/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    declarations.set(property, value);
    if (property === 'display' && value === 'none') return true;
    if (property === 'visibility' && (value === 'hidden' || value === 'collapse')) return true;
    if (property === 'mso-hide' && value === 'all') return true;
    if (property === 'opacity' && numberIn(value) < (value.endsWith('%') ? 10 : 0.1)) return true;
    if (property === 'font-size' && tinyFont(value)) return true;
    if (property === 'color' && value === 'transparent') return true;
  }
  if (
    declarations.get('overflow') === 'hidden' ||
    declarations.get('overflow-y') === 'hidden' ||
    declarations.get('overflow-x') === 'hidden'
  ) {
    for (const property of ['height', 'max-height', 'width', 'max-width', 'line-height']) {
      const value = declarations.get(property);
      if (value !== undefined && numberIn(value) === 0) return true;
    }
  }
  return false;
}

function numberIn(value: string): number {
  const number = Number.parseFloat(value);
  return Number.isNaN(number) ? Number.POSITIVE_INFINITY : number;
}

function tinyFont(value: string): boolean {
  const size = numberIn(value);
  if (value.endsWith('em')) return size < 0.4;
  if (value.endsWith('%')) return size < 40;
  return size < 6;
}

/**
 * The custom variables a template uses (subject, HTML and text): every name that is not built
 * in. A send keeps only these of its template_variables; the rest could never be shown.
 */
export function declaredTemplateVariables(template: EmailTemplate): ReadonlySet<string> {
  const names = new Set<string>();
  for (const part of PARTS) for (const name of parseTemplate(template[part]).names) if (!BUILT_INS.has(name)) names.add(name);
  return names;
}
