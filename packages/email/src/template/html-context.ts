/**
 * Where each template tag lands in a template's HTML, and whether it may be there.
 *
 * A value is always HTML-escaped, which makes it safe in text and inside a quoted attribute,
 * but not in every attribute: `<a href="{{url}}">` with `javascript:…`, a `style`, an `on*`
 * handler or a `srcset` act on what the value says. So:
 *
 *   - no variable in a tag name, an attribute name or an unquoted attribute value (a value with
 *     a space would start a new attribute), built-in or not;
 *   - a custom variable (a request's template_variables) only in text, or in a quoted attribute
 *     on SAFE_ATTRIBUTES (title, alt, class…): never in a URL attribute (href, src, srcset,
 *     action…), a style, an event handler, a comment or a <style> element. A link that needs a
 *     per-request part belongs in the magic link's own URL, which Sesame checks;
 *   - a section ({{#x}}, {{^x}}, {{/x}}) opens and closes at the same place in the HTML: in text
 *     (not inside a tag), closing every element it opens and none it did not. Then showing or
 *     hiding a section never changes how the HTML around it reads, so a check of the template
 *     holds for every send, whatever the values;
 *   - the HTML is well nested: an end tag closes the innermost open element, or implicitly only
 *     elements whose end tag is optional (p, li, td…). A browser handles other misnesting with
 *     rules (reopening <b>, ignoring an end tag out of scope) under which an element thought
 *     closed, a hidden one say, still wraps what follows.
 *
 * Elements that readers parse differently (script, svg, noscript…) are refused outright.
 */
import { scanHtml, UNSUPPORTED_ELEMENTS, VOID_ELEMENTS, type HtmlAttribute } from './html-scan.js';
import { templateTags, type TemplateTag } from './render.js';

/** Attributes whose value is shown or used as a plain word: a custom variable may fill them (quoted). */
const SAFE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'title',
  'alt',
  'class',
  'id',
  'lang',
  'dir',
  'width',
  'height',
  'align',
  'valign',
  'bgcolor',
  'color',
  'border',
  'cellpadding',
  'cellspacing',
  'colspan',
  'rowspan',
  'role',
  'name',
  'value',
  'placeholder',
  'label',
  'summary',
  'abbr',
  'headers',
  'scope',
  'face',
  'size',
]);

function isSafeAttribute(name: string): boolean {
  return SAFE_ATTRIBUTES.has(name) || name.startsWith('aria-') || (name.startsWith('data-') && name.length > 5);
}

// A template tag becomes OPEN + its index + CLOSE before the HTML is scanned: characters that
// are plain text to the scanner (and count as letters where a tag name may start).
const OPEN = '\uE000';
const CLOSE = '\uE001';
const PLACEHOLDER = /\uE000(\d+)\uE001/g;

/** Elements a browser closes itself when an enclosing element ends. */
const OPTIONAL_END: ReadonlySet<string> = new Set([
  'p',
  'li',
  'dt',
  'dd',
  'option',
  'optgroup',
  'rb',
  'rp',
  'rt',
  'rtc',
  'td',
  'th',
  'tr',
  'tbody',
  'thead',
  'tfoot',
  'colgroup',
  'caption',
  'html',
  'head',
  'body',
]);

type Place =
  | { readonly kind: 'text'; readonly key: string; readonly where: 'data' | 'rcdata' | 'style' }
  | { readonly kind: 'comment'; readonly key: string }
  | { readonly kind: 'tag'; readonly what: string }
  | { readonly kind: 'attribute'; readonly element: string; readonly attribute: HtmlAttribute };

/**
 * Problems with the placement of the template's variables and sections in its HTML, as
 * sentences for the `html` field. `builtIns` are the names Sesame fills (not custom).
 */
export function checkHtmlPlacement(html: string, builtIns: ReadonlySet<string>): string[] {
  if (html.includes(OPEN) || html.includes(CLOSE)) return ['must not contain the characters U+E000 or U+E001'];
  const tags = templateTags(html);
  let skeleton = '';
  let last = 0;
  tags.forEach((tag, index) => {
    skeleton += `${html.slice(last, tag.start)}${OPEN}${index}${CLOSE}`;
    last = tag.end;
  });
  skeleton += html.slice(last);

  const places = new Map<number, Place>();
  const problems = new Set<string>();
  // Open elements, each with an id for the stack as it stands once it is open: two places are
  // under the same open elements exactly when they see the same top id.
  const stack: { readonly id: number; readonly name: string }[] = [];
  let nextId = 1;
  const stackId = (): number => stack.at(-1)?.id ?? 0;
  const openByName = new Map<string, number>();
  // Messages quote the template as written, not its placeholders.
  const restore = (text: string): string =>
    text.replace(PLACEHOLDER, (_whole, index: string) => {
      const tag = tags[Number(index)];
      return tag ? html.slice(tag.start, tag.end) : '';
    });
  const mark = (text: string, place: Place | (() => Place)): void => {
    if (!text.includes(OPEN)) return;
    const resolved = typeof place === 'function' ? place() : place;
    for (const match of text.matchAll(PLACEHOLDER)) places.set(Number(match[1]), resolved);
  };

  scanHtml(skeleton, (char) => char === OPEN).forEach((token, position) => {
    switch (token.kind) {
      case 'text':
        if (token.content === 'data') mark(token.text, { kind: 'text', key: `data:${stackId()}`, where: 'data' });
        else mark(token.text, { kind: 'text', key: `raw:${stackId()}`, where: token.content === 'rawtext' ? 'style' : 'rcdata' });
        break;
      case 'comment':
        mark(token.text, { kind: 'comment', key: `comment:${position}` });
        break;
      case 'dropped':
        mark(token.text, { kind: 'tag', what: 'a tag that is never closed' });
        break;
      case 'start':
      case 'end': {
        const what = (): string => (token.kind === 'start' ? `<${restore(token.name)}>` : `</${restore(token.name)}>`);
        mark(token.name, () => ({ kind: 'tag', what: `the tag name ${what()}` }));
        if (token.kind === 'start') {
          for (const attribute of token.attributes) {
            mark(attribute.name, () => ({ kind: 'tag', what: `an attribute name of ${what()}` }));
            mark(attribute.value, () => ({
              kind: 'attribute',
              element: restore(token.name),
              attribute: { ...attribute, name: restore(attribute.name) },
            }));
          }
          if (UNSUPPORTED_ELEMENTS.has(token.name)) problems.add(`<${token.name}> is not supported in an email template`);
          if (!VOID_ELEMENTS.has(token.name)) {
            stack.push({ id: nextId++, name: token.name });
            openByName.set(token.name, (openByName.get(token.name) ?? 0) + 1);
          }
        } else {
          // End-tag attributes mean nothing, but a variable there is still inside a tag.
          for (const attribute of token.attributes) mark(`${attribute.name}${attribute.value}`, () => ({ kind: 'tag', what: what() }));
          // An end tag with no open element of its name is ignored, as a browser ignores it.
          if ((openByName.get(token.name) ?? 0) === 0) break;
          while (stack.length > 0) {
            const closed = stack.pop()!;
            openByName.set(closed.name, (openByName.get(closed.name) ?? 1) - 1);
            if (closed.name === token.name) break;
            if (!OPTIONAL_END.has(closed.name)) {
              problems.add(
                `${what()} closes <${restore(closed.name)}>, which is still open: close it first (the HTML must be well nested)`,
              );
            }
          }
        }
        break;
      }
    }
  });

  const opened: { readonly tag: TemplateTag; readonly place: Place | undefined }[] = [];
  tags.forEach((tag, index) => {
    const place = places.get(index);
    if (tag.sigil === '') {
      const problem = variableProblem(tag.name, place, builtIns.has(tag.name));
      if (problem) problems.add(problem);
    } else if (tag.sigil === '#' || tag.sigil === '^') {
      opened.push({ tag, place });
    } else if (opened.at(-1)?.tag.name === tag.name) {
      const open = opened.pop()!;
      if (!samePlace(open.place, place)) {
        problems.add(
          `{{${open.tag.sigil}${tag.name}}}…{{/${tag.name}}} must open and close at the same level of the HTML: outside tags, closing every element it opens and no other`,
        );
      }
    }
  });
  return [...problems];
}

function samePlace(a: Place | undefined, b: Place | undefined): boolean {
  if (!a || !b) return false;
  if (a.kind === 'text' && b.kind === 'text') return a.key === b.key;
  if (a.kind === 'comment' && b.kind === 'comment') return a.key === b.key;
  return false;
}

function variableProblem(name: string, place: Place | undefined, builtIn: boolean): string | null {
  const tag = `{{${name}}}`;
  if (!place) return `${tag} is in a place the HTML cannot be read`;
  switch (place.kind) {
    case 'text':
      if (builtIn || place.where !== 'style') return null;
      return `${tag} is inside a <style> element: a custom variable may only be in text or in a quoted attribute such as title or alt`;
    case 'comment':
      return builtIn
        ? null
        : `${tag} is inside an HTML comment: a custom variable may only be in text or in a quoted attribute such as title or alt`;
    case 'tag':
      return `${tag} is in ${place.what}: a variable may only be in text or in a quoted attribute value`;
    case 'attribute': {
      const { element, attribute } = place;
      if (attribute.quote !== '"' && attribute.quote !== "'") {
        return `${tag} is in the unquoted value of ${attribute.name} on <${element}>: put the value in quotes`;
      }
      if (builtIn || isSafeAttribute(attribute.name)) return null;
      return `${tag} is in the ${attribute.name} attribute of <${element}>: a custom variable may only be in text or in a quoted attribute such as title or alt, never in a link, an image source, a style or an event handler`;
    }
  }
}
