/**
 * A logic-less template language, the smallest that the default emails need:
 *
 *   {{name}}             the variable's value (HTML-escaped in HTML bodies), empty when unset
 *   {{#name}}…{{/name}}  the enclosed part, only when `name` is set and non-empty
 *   {{^name}}…{{/name}}  the enclosed part, only when `name` is unset or empty
 *
 * No raw (unescaped) output, no comments, no partials, no delimiter changes, no loops (all of
 * these are syntax problems, and render literally): a template edited in the
 * dashboard can place values and hide parts, nothing more. Rendering never throws: a malformed
 * tag renders literally and an unclosed section closes at the end, so a bad template still
 * delivers the code; `validateTemplate` reports all of it before a template is saved.
 */
import { escapeHtml } from '@sesame/core';

// Re-exported: checks of a rendered email look for values escaped exactly as the renderer escapes them.
export { escapeHtml };

export type TemplateVariables = Readonly<Record<string, string | undefined>>;

export type RenderMode = 'html' | 'text';

type TemplateNode =
  | { readonly kind: 'text'; readonly value: string }
  | { readonly kind: 'variable'; readonly name: string }
  | { readonly kind: 'section'; readonly name: string; readonly inverted: boolean; readonly children: readonly TemplateNode[] };

export interface ParsedTemplate {
  readonly nodes: readonly TemplateNode[];
  /** Human-readable syntax problems (empty for a well-formed template). */
  readonly problems: readonly string[];
  /** Every variable or section name the template refers to, in order of first use. */
  readonly names: readonly string[];
}

const TAG = /\{\{\s*([#^/]?)\s*([A-Za-z0-9_][A-Za-z0-9_.-]*)\s*\}\}/g;

export function parseTemplate(source: string): ParsedTemplate {
  const problems: string[] = [];
  const names = new Set<string>();
  interface Frame {
    readonly name: string;
    readonly inverted: boolean;
    readonly children: TemplateNode[];
  }
  const root: TemplateNode[] = [];
  const stack: Frame[] = [];
  const current = (): TemplateNode[] => stack.at(-1)?.children ?? root;

  const pushText = (value: string, offset: number): void => {
    if (value === '') return;
    if (value.includes('{{')) problems.push(`malformed tag near position ${offset + value.indexOf('{{')}`);
    current().push({ kind: 'text', value });
  };

  let last = 0;
  for (const match of source.matchAll(TAG)) {
    const sigil = match[1] ?? '';
    const name = match[2] ?? '';
    // `{{{name}}}` means raw output in other engines; here it would render `{value}`, escaped.
    if (source[match.index - 1] === '{' && source[match.index + match[0].length] === '}') {
      problems.push(`{{{${name}}}} (unescaped output) is not supported: every value is escaped, write {{${name}}}`);
    }
    pushText(source.slice(last, match.index), last);
    last = match.index + match[0].length;
    names.add(name);
    if (sigil === '') {
      current().push({ kind: 'variable', name });
    } else if (sigil === '#' || sigil === '^') {
      stack.push({ name, inverted: sigil === '^', children: [] });
    } else if (stack.at(-1)?.name === name) {
      closeSection();
    } else {
      problems.push(`{{/${name}}} closes no open section`);
    }
  }
  pushText(source.slice(last), last);
  while (stack.length > 0) {
    problems.push(`{{${stack.at(-1)?.inverted ? '^' : '#'}${stack.at(-1)?.name ?? ''}}} is never closed`);
    closeSection();
  }
  return { nodes: root, problems, names: [...names] };

  function closeSection(): void {
    const frame = stack.pop();
    if (frame) current().push({ kind: 'section', name: frame.name, inverted: frame.inverted, children: frame.children });
  }
}

// Every email renders the same few templates: keep their trees (bounded, oldest evicted first).
const parsedCache = new Map<string, ParsedTemplate>();
const PARSED_CACHE_SIZE = 32;

function parseCached(source: string): ParsedTemplate {
  let parsed = parsedCache.get(source);
  if (!parsed) {
    parsed = parseTemplate(source);
    if (parsedCache.size >= PARSED_CACHE_SIZE) parsedCache.delete(parsedCache.keys().next().value ?? '');
    parsedCache.set(source, parsed);
  }
  return parsed;
}

/**
 * `uncertain`: names whose value is not known in advance (custom variables, an optional logo).
 * Their sections render nothing, normal or inverted, and their values render empty: what is
 * left is the part of the email that every send shows, whatever those values turn out to be.
 */
export function renderTemplate(
  template: string | ParsedTemplate,
  variables: TemplateVariables,
  mode: RenderMode,
  uncertain?: ReadonlySet<string>,
): string {
  const parsed = typeof template === 'string' ? parseCached(template) : template;
  return renderNodes(parsed.nodes, variables, mode, uncertain);
}

function renderNodes(
  nodes: readonly TemplateNode[],
  variables: TemplateVariables,
  mode: RenderMode,
  uncertain: ReadonlySet<string> | undefined,
): string {
  let out = '';
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out += node.value;
        break;
      case 'variable': {
        if (uncertain?.has(node.name)) break;
        const value = lookup(variables, node.name);
        out += mode === 'html' ? escapeHtml(value) : value;
        break;
      }
      case 'section':
        if (uncertain?.has(node.name)) break;
        if ((lookup(variables, node.name) !== '') !== node.inverted) out += renderNodes(node.children, variables, mode, uncertain);
        break;
    }
  }
  return out;
}

export interface TemplateTag {
  /** '' for a variable, '#' or '^' for a section's opening, '/' for its closing. */
  readonly sigil: '' | '#' | '^' | '/';
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** Every well-formed tag of a template, in source order (what `parseTemplate` reads). */
export function templateTags(source: string): TemplateTag[] {
  return [...source.matchAll(TAG)].map((match) => ({
    sigil: (match[1] ?? '') as TemplateTag['sigil'],
    name: match[2] ?? '',
    start: match.index,
    end: match.index + match[0].length,
  }));
}

/** Own properties only: a name such as `constructor` must never reach the prototype. */
function lookup(variables: TemplateVariables, name: string): string {
  return Object.hasOwn(variables, name) ? (variables[name] ?? '') : '';
}

export interface TemplateValidation {
  readonly ok: boolean;
  readonly problems: readonly string[];
  /** Names that are neither built in nor in `knownNames`: they render empty unless a request sets them. */
  readonly unknownVariables: readonly string[];
}

/** Checks a template before it is saved (the dashboard shows the result). */
export function validateTemplate(source: string, knownNames: readonly string[]): TemplateValidation {
  const parsed = parseTemplate(source);
  const known = new Set(knownNames);
  const unknownVariables = parsed.names.filter((name) => !known.has(name));
  return { ok: parsed.problems.length === 0, problems: parsed.problems, unknownVariables };
}
