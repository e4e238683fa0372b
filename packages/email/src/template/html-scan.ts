/**
 * A small HTML tokenizer, following the WHATWG tokenizer for what an email template can hold:
 * text, start and end tags with their attributes (quoted, unquoted, bare), comments (`<!--…-->`,
 * and the bogus comments `<!…>`, `<?…>`, `</…>` that a browser makes of odd markup), and the
 * raw-text (`<style>`) and RCDATA (`<title>`, `<textarea>`) elements whose content is not markup.
 * It is used to decide where a template variable lands (text, which attribute, quoted or not)
 * and whether a credential is visible, so it errs towards the browser's reading: a tag cut off
 * by the end of the input is dropped, as a browser drops it.
 *
 * Elements whose content a reader parses differently depending on scripting or on foreign
 * content (script, noscript, template, svg, math, …) are not modelled: templates holding them
 * are refused before anything relies on this scan (see UNSUPPORTED_ELEMENTS).
 *
 * `isNameStart` lets the caller count extra characters (a placeholder for a template tag) as
 * letters where a tag name may start: `<{{x}}` may render as `<script`, so it must read as a tag.
 */

export interface HtmlAttribute {
  /** Lower-cased, as the browser compares it. */
  readonly name: string;
  /** The value as written (entities not decoded); empty for a bare attribute. */
  readonly value: string;
  readonly quote: '"' | "'" | '' | null;
}

export type HtmlToken =
  | { readonly kind: 'text'; readonly text: string; readonly content: 'data' | 'rcdata' | 'rawtext' }
  | { readonly kind: 'start'; readonly name: string; readonly attributes: readonly HtmlAttribute[]; readonly selfClosing: boolean }
  /** Attributes on an end tag mean nothing to a browser; they are kept so a caller can see what is there. */
  | { readonly kind: 'end'; readonly name: string; readonly attributes: readonly HtmlAttribute[] }
  /** A comment, a doctype or other markup declaration: never displayed. `text` is everything between its delimiters. */
  | { readonly kind: 'comment'; readonly text: string }
  /** A tag cut off by the end of the input: the browser drops it. `text` is what was dropped. */
  | { readonly kind: 'dropped'; readonly text: string };

/** Elements with no end tag: they never hold content. */
export const VOID_ELEMENTS: ReadonlySet<string> = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
]);

const RAWTEXT_ELEMENTS: ReadonlySet<string> = new Set(['style']);
const RCDATA_ELEMENTS: ReadonlySet<string> = new Set(['title', 'textarea']);

/**
 * Refused in a template: their content is read as markup by one reader and as text by another
 * (script and noscript by the scripting flag, svg and math as foreign content, template, the
 * legacy raw-text elements), and no email client runs or shows them consistently anyway.
 */
export const UNSUPPORTED_ELEMENTS: ReadonlySet<string> = new Set([
  'script',
  'noscript',
  'template',
  'iframe',
  'noembed',
  'noframes',
  'xmp',
  'plaintext',
  'svg',
  'math',
  'object',
  'embed',
  'frameset',
  'frame',
]);

const WHITESPACE = /[\t\n\f\r ]/;
const ASCII_ALPHA = /[A-Za-z]/;

export function scanHtml(source: string, isNameStart: (char: string) => boolean = () => false): HtmlToken[] {
  const tokens: HtmlToken[] = [];
  const length = source.length;
  let i = 0;
  let textStart = 0;
  const isTagStart = (char: string | undefined): boolean => char !== undefined && (ASCII_ALPHA.test(char) || isNameStart(char));

  const flushText = (end: number): void => {
    if (end > textStart) tokens.push({ kind: 'text', text: source.slice(textStart, end), content: 'data' });
  };

  while (i < length) {
    if (source[i] !== '<') {
      i += 1;
      continue;
    }
    const next = source[i + 1];
    if (next === '!') {
      flushText(i);
      i = source.startsWith('<!--', i) ? readComment(i + 4) : readBogusComment(i + 2);
      textStart = i;
    } else if (next === '?') {
      flushText(i);
      i = readBogusComment(i + 1);
      textStart = i;
    } else if (next === '/') {
      const after = source[i + 2];
      if (isTagStart(after)) {
        flushText(i);
        i = readTag(i + 2, true);
        textStart = i;
      } else if (after === '>') {
        // `</>` is dropped without a trace.
        flushText(i);
        i += 3;
        textStart = i;
      } else if (after === undefined) {
        i = length;
      } else {
        flushText(i);
        i = readBogusComment(i + 2);
        textStart = i;
      }
    } else if (isTagStart(next)) {
      flushText(i);
      i = readTag(i + 1, false);
      textStart = i;
    } else {
      i += 1;
    }
  }
  flushText(length);
  return tokens;

  function readComment(from: number): number {
    // `<!-->` and `<!--->` are complete (empty) comments.
    if (source[from] === '>') return push(from, from + 1);
    if (source.startsWith('->', from)) return push(from, from + 2);
    let end = -1;
    let close = 0;
    for (let j = from; j < length; j += 1) {
      if (source.startsWith('-->', j)) {
        end = j;
        close = 3;
        break;
      }
      if (source.startsWith('--!>', j)) {
        end = j;
        close = 4;
        break;
      }
    }
    if (end === -1) return push(length, length);
    return push(end, end + close);

    function push(textEnd: number, resume: number): number {
      tokens.push({ kind: 'comment', text: source.slice(from, textEnd) });
      return resume;
    }
  }

  function readBogusComment(from: number): number {
    const end = source.indexOf('>', from);
    tokens.push({ kind: 'comment', text: source.slice(from, end === -1 ? length : end) });
    return end === -1 ? length : end + 1;
  }

  /** From just after `<` or `</`; answers where scanning resumes. */
  function readTag(from: number, isEnd: boolean): number {
    let j = from;
    while (j < length && !WHITESPACE.test(source[j]!) && source[j] !== '/' && source[j] !== '>') j += 1;
    const name = source.slice(from, j).toLowerCase();
    const attributes: HtmlAttribute[] = [];
    let selfClosing = false;
    for (;;) {
      // Before an attribute name: whitespace and stray slashes.
      while (j < length && (WHITESPACE.test(source[j]!) || (source[j] === '/' && source[j + 1] !== '>'))) j += 1;
      if (j >= length) return dropped();
      if (source[j] === '/' && source[j + 1] === '>') {
        selfClosing = true;
        j += 2;
        break;
      }
      if (source[j] === '>') {
        j += 1;
        break;
      }
      // An attribute name; a leading `=` belongs to it.
      const nameStart = j;
      j += 1;
      while (j < length && !WHITESPACE.test(source[j]!) && source[j] !== '/' && source[j] !== '>' && source[j] !== '=') j += 1;
      const attrName = source.slice(nameStart, j).toLowerCase();
      while (j < length && WHITESPACE.test(source[j]!)) j += 1;
      if (source[j] !== '=') {
        attributes.push({ name: attrName, value: '', quote: null });
        continue;
      }
      j += 1;
      while (j < length && WHITESPACE.test(source[j]!)) j += 1;
      if (j >= length) return dropped();
      const quote = source[j];
      if (quote === '"' || quote === "'") {
        const close = source.indexOf(quote, j + 1);
        if (close === -1) return dropped();
        attributes.push({ name: attrName, value: source.slice(j + 1, close), quote });
        j = close + 1;
      } else if (quote === '>') {
        attributes.push({ name: attrName, value: '', quote: '' });
      } else {
        const valueStart = j;
        while (j < length && !WHITESPACE.test(source[j]!) && source[j] !== '>') j += 1;
        if (j >= length) return dropped();
        attributes.push({ name: attrName, value: source.slice(valueStart, j), quote: '' });
      }
    }
    if (isEnd) {
      tokens.push({ kind: 'end', name, attributes });
      return j;
    }
    tokens.push({ kind: 'start', name, attributes, selfClosing });
    if (RAWTEXT_ELEMENTS.has(name) || RCDATA_ELEMENTS.has(name))
      return readRawText(j, name, RAWTEXT_ELEMENTS.has(name) ? 'rawtext' : 'rcdata');
    return j;

    function dropped(): number {
      tokens.push({ kind: 'dropped', text: source.slice(from, length) });
      return length;
    }
  }

  /** Content up to the matching end tag (`</name` then whitespace, `/` or `>`, any case). */
  function readRawText(from: number, name: string, content: 'rawtext' | 'rcdata'): number {
    let j = from;
    for (;;) {
      const lt = source.indexOf('</', j);
      if (lt === -1) {
        if (length > from) tokens.push({ kind: 'text', text: source.slice(from), content });
        return length;
      }
      const after = source[lt + 2 + name.length];
      if (
        source.slice(lt + 2, lt + 2 + name.length).toLowerCase() === name &&
        (after === undefined || after === '/' || after === '>' || WHITESPACE.test(after))
      ) {
        if (lt > from) tokens.push({ kind: 'text', text: source.slice(from, lt), content });
        return lt;
      }
      j = lt + 2;
    }
  }
}
