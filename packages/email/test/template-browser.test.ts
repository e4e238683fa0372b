/**
 * The template checks against a real HTML parser and renderer (Debian's Chromium): for generated
 * templates that the checks accept, Chromium must agree that
 *   - a custom variable's value lands only in text or in a plain-word attribute (never in a URL
 *     attribute, a style, a handler, a tag or attribute name, a comment or a <style>);
 *   - the code is in the rendered page's visible text (`innerText`), for every value a send may
 *     give the custom variables and the logo.
 * The checks may be stricter than Chromium (they refuse some harmless templates); never looser.
 */
import fc from 'fast-check';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_VARIABLES, checkEmailTemplate, checkHtmlPlacement, renderTemplate } from '../src/index.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '@sesame/testkit';

let browser: Browser;
let page: Page;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  page = await browser.newPage({ javaScriptEnabled: true });
}, 60_000);
afterAll(async () => {
  await browser.close();
});

const MARKER = 'qzmarkerqz';
const SAFE = ['title', 'alt', 'class', 'id', 'data-x', 'aria-label'];

/** Where Chromium's parser puts MARKER in `html`: a list of places that are not allowed (empty when all are fine). */
async function unsafePlaces(html: string): Promise<string[]> {
  return page.evaluate(
    ({ html, marker, safe }) => {
      const doc = new DOMParser().parseFromString(html, 'text/html');
      const bad: string[] = [];
      const walker = doc.createTreeWalker(doc, NodeFilter.SHOW_ALL);
      for (let node: Node | null = walker.currentNode; node; node = walker.nextNode()) {
        if (node instanceof Element) {
          if (node.tagName.toLowerCase().includes(marker)) bad.push(`tag ${node.tagName}`);
          for (const attribute of Array.from(node.attributes)) {
            if (attribute.name.includes(marker)) bad.push(`attribute name ${attribute.name}`);
            else if (attribute.value.includes(marker) && !safe.includes(attribute.name))
              bad.push(`attribute ${attribute.name} of <${node.tagName}>`);
          }
        } else if (node.nodeType === Node.COMMENT_NODE && (node.nodeValue ?? '').includes(marker)) {
          bad.push('comment');
        } else if (node.nodeType === Node.TEXT_NODE && (node.nodeValue ?? '').includes(marker)) {
          const parent = node.parentElement?.tagName.toLowerCase() ?? '';
          if (parent === 'style' || parent === 'script') bad.push(`text of <${parent}>`);
        }
      }
      return bad;
    },
    { html, marker: MARKER, safe: SAFE },
  );
}

/** The text a reader sees: Chromium's `innerText` of the laid-out page. */
async function visibleText(html: string): Promise<string> {
  await page.setContent(html, { waitUntil: 'domcontentloaded' });
  // A template may be all <head> content: then there is no body text at all.
  return page.evaluate(() => (document.body as HTMLElement | null)?.innerText ?? '');
}

const attributePieces = [
  '<a',
  '<p',
  '<img',
  '<td',
  ' ',
  '\n',
  '>',
  '/>',
  '"',
  "'",
  '=',
  'href',
  'HREF',
  'src',
  'style',
  'onclick',
  'title',
  'alt',
  'class',
  'data-x',
  'aria-label',
  ' title="',
  " alt='",
  ' class="',
  ' data-x="',
  ' href="',
  " src='",
  ' style="',
  ' onclick="',
  ' TITLE = "',
  '{{x}}',
  '{{x}}',
  '{{x}}',
  'https://ok.example/',
  'text',
  '</a>',
  '</p>',
  '<!--',
  '-->',
  '<style>',
  '</style>',
  '<title>',
  '</title>',
  '<textarea>',
  '</textarea>',
];

describe('Chromium agrees with the checks', { timeout: 180_000 }, () => {
  it('a custom variable the checks accept lands only in text or a plain-word attribute (generated templates)', async () => {
    const builtIns = new Set<string>(BUILT_IN_VARIABLES);
    let accepted = 0;
    let inAttributes = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...attributePieces), { minLength: 3, maxLength: 14 }), async (pieces) => {
        const html = pieces.join('');
        if (!html.includes('{{x}}') || checkHtmlPlacement(html, builtIns).length > 0) return;
        accepted += 1;
        const rendered = renderTemplate(html, { x: MARKER }, 'html');
        if (/=\s*["'][^"']*qzmarkerqz/.test(rendered)) inAttributes += 1;
        expect(await unsafePlaces(rendered), html).toEqual([]);
      }),
      { numRuns: 2_500 },
    );
    // The generator reaches what it should: many accepted templates, some with the value in an attribute.
    expect(accepted).toBeGreaterThan(300);
    expect(inAttributes).toBeGreaterThan(20);
  });

  it('refused placements are ones Chromium reads as unsafe (the table of the review)', async () => {
    for (const html of [
      '<a href={{x}}>go</a>',
      '<a href="{{x}}">go</a>',
      "<img src='{{x}}'>",
      '<div onclick="{{x}}">x</div>',
      '<p style="{{x}}">x</p>',
      '<A HREF="{{x}}">go</A>',
    ]) {
      expect(checkHtmlPlacement(html, new Set(BUILT_IN_VARIABLES)).length, html).toBeGreaterThan(0);
      expect((await unsafePlaces(renderTemplate(html, { x: MARKER }, 'html'))).length, html).toBeGreaterThan(0);
    }
    // Unquoted: a value with a space starts a new attribute of the attacker's choosing.
    expect(await unsafePlaces(renderTemplate('<a title={{x}}>go</a>', { x: `a ${MARKER}=1` }, 'html'))).toEqual([
      `attribute name ${MARKER}`,
    ]);
  });

  // Wrappers around a leaf, nested up to three deep; a template is one to three such segments.
  const wrappers: readonly (readonly [string, string])[] = [
    ['<p>', '</p>'],
    ['<b>', '</b>'],
    ['<table><tr><td>', '</td></tr></table>'],
    ['<div hidden>', '</div>'],
    ['<span style="display:none">', '</span>'],
    ['<span style="visibility:hidden">', '</span>'],
    ['<div style="max-height:0;overflow:hidden">', '</div>'],
    ['<!--', '-->'],
    ['<title>', '</title>'],
    ['<style>', '</style>'],
    ['<textarea>', '</textarea>'],
    ['<p title="', '">x</p>'],
    ['<p><b hidden>', '</p>'],
    ['{{#company}}', '{{/company}}'],
    ['{{^company}}', '{{/company}}'],
    ['{{#logo_url}}', '{{/logo_url}}'],
    ['{{#otp}}', '{{/otp}}'],
    ['{{^otp}}', '{{/otp}}'],
    ['{{#email}}', '{{/email}}'],
  ];
  const segment = fc
    .tuple(fc.array(fc.constantFrom(...wrappers), { maxLength: 3 }), fc.constantFrom('{{otp}}', '{{otp}}', 'text'))
    .map(([nest, leaf]) => nest.reduceRight<string>((inner, [open, close]) => `${open}${inner}${close}`, leaf));
  it('a code the checks call visible is in the rendered page for every send (generated templates)', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 3 }), async (segments) => {
        const html = segments.join('');
        const problems = checkEmailTemplate({ subject: 's', html, text: '{{otp}}' }, { type: 'OTP', customVariables: ['company'] });
        if (problems.length > 0) return;
        accepted += 1;
        for (const company of ['', 'Acme']) {
          for (const logo of ['', 'https://cdn.example/logo.png']) {
            const rendered = renderTemplate(html, { otp: '731946', company, logo_url: logo, email: 'a@example.com' }, 'html');
            expect(await visibleText(rendered), `${html} (company=${company}, logo=${logo})`).toContain('731946');
          }
        }
      }),
      { numRuns: 400 },
    );
    expect(accepted).toBeGreaterThan(60);
  });
});
