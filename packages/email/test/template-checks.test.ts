/**
 * What a saved template may be: it shows the policy's credentials in every email it can render
 * (judged by rendering), it never puts a custom variable where escaping does not protect it, and
 * the dashboard's own sign-in emails never use it.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { PasswordlessType } from '@sesame/core';
import {
  DASHBOARD_CLIENT_ID,
  DEFAULT_TEMPLATES,
  TEMPLATES_SETTING_KEY,
  checkEmailTemplate,
  createDevInboxTransport,
  createOutboxWorker,
  declaredTemplateVariables,
  declaredVariablesSource,
  renderEmail,
  renderTemplate,
  settingsContentSource,
  silentLogger,
  type EmailTemplate,
} from '../src/index.js';
import { REDIRECT, openTestSesame, type TestSesame } from './helpers/sesame.js';

const TEXT = 'Code: {{otp}} Link: {{link}}';
const HTML_OK = '<p>{{otp}}</p><p><a href="{{link}}">Sign in</a></p>';
const check = (html: string, type: PasswordlessType, text = TEXT) =>
  checkEmailTemplate({ subject: 'Hi', html, text }, { type, customVariables: ['company', 'url', 'x'] });
const fields = (html: string, type: PasswordlessType, text = TEXT) => [...new Set(check(html, type, text).map((v) => v.field))];

describe('a template must include the code in every email it can render', () => {
  // [html, why it is refused]: each also fails when it is the only place the code is.
  const refused: readonly [string, string][] = [
    ['{{^otp}}{{otp}}{{/otp}}', 'inverted section on the code itself'],
    ['{{#link}}<p>{{otp}}</p>{{/link}}', 'section on the link, empty in an OTP email'],
    ['{{#company}}<p>{{otp}}</p>{{/company}}', 'section on a custom variable a send may leave empty'],
    ['{{^company}}<p>{{otp}}</p>{{/company}}', 'inverted section on a custom variable a send may set'],
    ['{{#logo_url}}<p>{{otp}}</p>{{/logo_url}}', 'section on the logo, empty without one'],
    ['{{#company}}{{^company}}<p>{{otp}}</p>{{/company}}{{/company}}', 'both ways round'],
    ['{{! otp}}', 'a comment tag'],
    ['{{> otp}}', 'a partial'],
    ['{{=<% %>=}}<p><%otp%></p>', 'a delimiter change'],
    ['<p>{{{otp}}}</p>', 'triple-stash'],
    ['<!-- {{otp}} -->', 'an HTML comment'],
    ['<!--> <p>x</p> --><!-- {{otp}} --!>', 'a comment closed the odd ways'],
    ['<script>document.write("{{otp}}")</script>', 'a script'],
    ['<style>p:after{content:"{{otp}}"}</style>', 'a style element'],
    ['<title>{{otp}}</title>', 'the title'],
    ['<p title="{{otp}}">code</p>', 'an attribute'],
    ['<input value="{{otp}}">', 'an input value'],
    ['<textarea>{{otp}}</textarea>', 'a form field'],
    ['<div hidden>{{otp}}</div>', 'a hidden element'],
    ['<div HIDDEN="false"><p>{{otp}}</p></div>', 'a hidden ancestor'],
    ['<div style="display:none">{{otp}}</div>', 'display:none'],
    ['<div style="DISPLAY : NONE !important">{{otp}}</div>', 'display:none, spelled loosely'],
    ['<div style="display&#58;none">{{otp}}</div>', 'display:none behind a character reference'],
    ['<div style="disp\\lay:none">{{otp}}</div>', 'a CSS escape'],
    ['<div style="display:/**/none">{{otp}}</div>', 'a CSS comment'],
    ['<span style="visibility:hidden">{{otp}}</span>', 'visibility:hidden'],
    ['<td style="mso-hide:all">{{otp}}</td>', 'mso-hide'],
    ['<span style="font-size:0">{{otp}}</span>', 'font-size 0'],
    ['<span style="opacity:0.0">{{otp}}</span>', 'opacity 0'],
    ['<div style="max-height:0;overflow:hidden">{{otp}}</div>', 'a zero-height box'],
    ['<p><b hidden>x</p>{{otp}}', 'a hidden element a browser reopens'],
    ['<span hidden><div></span>{{otp}}', 'an end tag a browser ignores (a <div> is still open)'],
    ['<div hidden><table><tr><td></div>{{otp}}', 'an end tag out of table scope'],
    [
      '{{#company}}<div hidden>{{/company}}<p>{{otp}}</p>{{^company}}<div>{{/company}}</div>',
      'a section that opens an element it does not close',
    ],
    ['<p>code</p>', 'no code at all'],
  ];
  it.each(refused)('refuses %j in the HTML part (%s), naming the field html', (html) => {
    expect(fields(html, 'OTP')).toEqual(['html']);
  });

  const accepted: readonly string[] = [
    '<p>{{otp}}</p>',
    '<p>{{#otp}}{{otp}}{{/otp}}</p>',
    '{{^link}}<p>{{otp}}</p>{{/link}}',
    '{{#email}}<p>{{otp}}</p>{{/email}}',
    '<div hidden>preheader</div><p>{{otp}}</p>',
    '<ul><li>one<li>{{otp}}</ul>',
    '<table><tr><td>{{otp}}</table>',
    '<p title="{{company}}">{{otp}}</p>{{#company}}<p>for {{company}}</p>{{/company}}',
    '<!DOCTYPE html><html><head><title>{{#company}}{{company}}{{/company}}</title></head><body><p style="color:#111">{{otp}}</p></body></html>',
  ];
  it.each(accepted)('accepts %j', (html) => {
    expect(check(html, 'OTP')).toEqual([]);
  });

  it('refuses the same tricks in the text part, naming the field text', () => {
    for (const text of ['{{^otp}}{{otp}}{{/otp}}', '{{#company}}{{otp}}{{/company}}', '{{#link}}{{otp}}{{/link}}', '{{! otp}}', 'code']) {
      expect(fields('<p>{{otp}}</p>', 'OTP', text)).toEqual(['text']);
    }
  });

  it('asks for the credentials of the policy type: the code, the link, or both', () => {
    expect(check('<p>{{otp}}</p>', 'OTP', 'code {{otp}}')).toEqual([]);
    expect(fields('<p>{{otp}}</p>', 'LINK', 'code {{otp}}')).toEqual(['text', 'html']);
    expect(fields('<p>{{otp}}</p>', 'LINK_OTP', TEXT)).toEqual(['html']);
    expect(check(HTML_OK, 'LINK_OTP')).toEqual([]);
    expect(check(HTML_OK, 'LINK', 'go to {{link}}')).toEqual([]);
    for (const type of ['OTP', 'LINK', 'LINK_OTP'] as const) {
      for (const template of Object.values(DEFAULT_TEMPLATES)) expect(checkEmailTemplate(template, { type })).toEqual([]);
    }
  });

  const links: readonly [string, boolean][] = [
    ['<a href="{{link}}">Sign in</a>', true],
    ['<a class=button href=\'{{link}}\'><img src="https://cdn.example/button.png" alt="Sign in"></a>', true],
    ['<p>{{link}}</p>', true],
    ['<a href="{{link}}"></a>', false],
    ['<a href="{{link}}"> </a>', false],
    ['<a href="{{link}}" style="display:none">Sign in</a>', false],
    ['<a href="https://other.example/" href="{{link}}">Sign in</a>', false],
    ['<a href="{{link}}&x=1">Sign in</a>', false],
    ['<link rel="x" href="{{link}}"><p>Sign in</p>', false],
    ['<!-- <a href="{{link}}">Sign in</a> -->', false],
  ];
  it.each(links)('a LINK email with %j shows the link: %s', (html, ok) => {
    expect(check(html, 'LINK', 'open {{link}}').length === 0).toBe(ok);
  });

  // Every way of wrapping the code in sections: the check accepts exactly the templates that
  // show the code for every value a send may give the custom variable and the logo.
  const section = fc.record({ name: fc.constantFrom('otp', 'link', 'company', 'logo_url', 'email'), inverted: fc.boolean() });
  it('agrees with rendering every possible send (generated section nests)', () => {
    fc.assert(
      fc.property(
        fc.array(section, { maxLength: 4 }),
        fc.constantFrom<PasswordlessType>('OTP', 'LINK_OTP'),
        fc.boolean(),
        (nest, type, inHtml) => {
          const wrap = (core: string) =>
            nest.reduceRight((inner, s) => `{{${s.inverted ? '^' : '#'}${s.name}}}${inner}{{/${s.name}}}`, core);
          const html = inHtml ? `${wrap('<p>{{otp}}</p>')}<a href="{{link}}">go</a>` : HTML_OK;
          const text = inHtml ? TEXT : `${wrap('{{otp}}')} {{link}}`;
          const part = inHtml ? 'html' : 'text';
          let shownInEvery = true;
          for (const company of ['', 'Acme']) {
            for (const logo of ['', 'https://cdn.example/l.png']) {
              const values = {
                otp: 'OTP-SAMPLE',
                link: type === 'OTP' ? '' : 'https://x.example/v',
                company,
                logo_url: logo,
                email: 'a@b.example',
              };
              if (!renderTemplate(inHtml ? html : text, values, inHtml ? 'html' : 'text').includes('OTP-SAMPLE')) shownInEvery = false;
            }
          }
          const codeProblems = checkEmailTemplate({ subject: 's', html, text }, { type, customVariables: ['company'] }).filter(
            (v) => v.field === part && v.description.includes('{{otp}}'),
          );
          expect(codeProblems.length === 0).toBe(shownInEvery);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('custom variables stay out of HTML attributes that act on their value', () => {
  const withCode = (html: string) => `<p>{{otp}}</p><p><a href="{{link}}">Sign in</a></p>${html}`;
  const refused: readonly string[] = [
    '<a href={{url}}>go</a>',
    '<a href="{{url}}">go</a>',
    "<img src='{{x}}'>",
    '<div onclick="{{x}}">x</div>',
    "<div onMouseOver='{{x}}'>x</div>",
    '<p style="{{x}}">x</p>',
    '<p style="color:{{x}}">x</p>',
    '<A HREF="{{url}}">go</A>',
    '<a HrEf="{{url}}">go</a>',
    '<a title="t"\thref={{x}}>go</a>',
    '<a\nhref={{x}}>go</a>',
    '<p title={{x}}>x</p>',
    '<a href="https://ok.example/{{x}}">go</a>',
    '<a href = "{{url}}">go</a>',
    '<img srcset="{{x}} 2x">',
    '<form action="{{x}}"><button formaction="{{x}}">go</button></form>',
    '<td background="{{x}}">x</td>',
    '<meta http-equiv="refresh" content="0;url={{x}}">',
    '<a xlink:href="{{x}}">go</a>',
    '<p {{x}}>x</p>',
    '<p title="a"{{x}}>x</p>',
    '<{{x}}>x',
    '<p>x</{{x}}>',
    '<!-- {{x}} -->',
    '<style>p{color:{{x}}}</style>',
    '<p title="{{x}}',
    '<svg><a href="#"><text>{{x}}</text></a></svg>',
    '<noscript><p title="</noscript>{{x}}">x</p></noscript>',
  ];
  it.each(refused)('refuses %j with a problem on the field html', (html) => {
    const violations = check(withCode(html), 'LINK_OTP');
    expect(violations.length).toBeGreaterThan(0);
    expect(new Set(violations.map((v) => v.field))).toEqual(new Set(['html']));
  });

  const accepted: readonly string[] = [
    '<p>{{x}}</p>',
    '<p>Hello {{company}}, {{url}}</p>',
    '<p title="{{x}}">x</p>',
    '<img alt=\'{{x}}\' src="https://cdn.example/logo.png">',
    '<td class="{{x}}" data-id="{{x}}" aria-label="{{x}}">x</td>',
    '<a href="{{link}}" title="{{x}}">Sign in again</a>',
    '<td style="color:{{accent_color}}" bgcolor="{{accent_color}}">x</td>',
  ];
  it.each(accepted)('accepts %j', (html) => {
    expect(check(withCode(html), 'LINK_OTP')).toEqual([]);
  });

  it('a value in text is escaped, so an attribute injection stays text', () => {
    const html = renderTemplate('<p>{{x}}</p>', { x: '"><img src=x onerror=alert(1)> javascript:alert(1) onmouseover=alert(2)' }, 'html');
    expect(html).toBe('<p>&quot;&gt;&lt;img src=x onerror=alert(1)&gt; javascript:alert(1) onmouseover=alert(2)</p>');
  });

  const SAFE = new Set(['title', 'alt', 'class', 'data-x', 'aria-label']);
  it('refuses exactly the unquoted values and the attributes outside the plain-word list (generated)', () => {
    const names = [
      'href',
      'src',
      'srcset',
      'action',
      'formaction',
      'style',
      'onclick',
      'onload',
      'background',
      'poster',
      'cite',
      'data',
      'xlink:href',
      'content',
      ...SAFE,
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        fc.constantFrom('"', "'", ''),
        fc.constantFrom(' ', '\t', '\n', '\f', '  ', ' / ', ' class="c" '),
        fc.constantFrom('', 'https://ok.example/', 'a '),
        (name, upper, quote, gap, prefix) => {
          const cased = name.replace(/[a-z]/g, (c: string, i: number) => (upper[i] ? c.toUpperCase() : c));
          const value = quote === '' && prefix.includes(' ') ? '{{x}}' : `${prefix}{{x}}`;
          const html = withCode(`<a${gap}${cased}=${quote}${value}${quote}>x</a>`);
          expect(check(html, 'LINK_OTP').length > 0).toBe(quote === '' || !SAFE.has(name));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the checks on hostile input', () => {
  const pieces = [
    '<',
    '>',
    '/',
    '"',
    "'",
    '=',
    ' ',
    '\n',
    'a',
    'p',
    'b',
    'div',
    'style',
    'title',
    'script',
    '!--',
    '--',
    '!',
    '?',
    '&#58;',
    '&x',
    'hidden',
    'href',
    'on',
    'display:none',
    '{{',
    '}}',
    '{{x}}',
    '{{otp}}',
    '{{link}}',
    '{{#x}}',
    '{{/x}}',
    '{{^otp}}',
    '{{/otp}}',
    '{{{',
    '\uE000',
    '\uE0011\uE001',
  ];
  it('never throw, and answer problems by field (generated markup)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...pieces), { maxLength: 60 }),
        fc.constantFrom<PasswordlessType>('OTP', 'LINK', 'LINK_OTP'),
        (parts, type) => {
          const html = parts.join('');
          const violations = checkEmailTemplate({ subject: 's', html, text: html }, { type, customVariables: ['x'] });
          for (const v of violations) expect(['subject', 'html', 'text']).toContain(v.field);
        },
      ),
      { numRuns: 1000 },
    );
  });

  // Shapes that would cost depth × tags with a naive stack walk; 50,000 characters is the save limit.
  const shapes: Record<string, string> = {
    'deep nesting': '<b>{{x}}'.repeat(6000),
    'end tags that close nothing': `${'<b>'.repeat(8000)}${'</i>'.repeat(8000)}`,
    'hidden elements closed by others': `${'<div hidden>'.repeat(4000)}${'</span>'.repeat(4000)}`,
    'sections around elements': `${'{{#x}}<b>'.repeat(3000)}${'</b>{{/x}}'.repeat(3000)}`,
    'many attributes': `<p ${'a="{{x}}" '.repeat(5000)}>`,
    'unclosed comments': '<!--'.repeat(12000),
    'character references': `<p style="${'&#58;&amp;'.repeat(5000)}">`,
  };
  it.each(Object.entries(shapes))('a 50,000-character template of %s is checked in well under a second', (_name, shape) => {
    const html = `<p>{{otp}}</p>${shape}`.slice(0, 50_000);
    const started = performance.now();
    checkEmailTemplate({ subject: 's', html, text: '{{otp}}' }, { type: 'OTP', customVariables: ['x'] });
    // Best of seven runs: 0.2 to 58 ms each on two busy cores; the bound leaves room for a slow runner.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('which template an email uses', () => {
  const BROKEN: EmailTemplate = { subject: 'Locked', html: '<p>{{^otp}}{{otp}}{{/otp}}</p>', text: '{{^otp}}{{otp}}{{/otp}}' };
  const MARKED: EmailTemplate = { subject: 'MARKED', html: '<p>MARKED {{otp}}</p>', text: 'MARKED {{otp}}' };
  const facts = { email: 'root@example.com', otp: '482913', link: null, expiresAt: 1_000_300_000, now: 1_000_000_000 };

  it('the dashboard sign-in always uses the built-in template; app clients use the saved one', () => {
    const dashboard = renderEmail({ ...facts, template: 'SIGNIN', templates: { SIGNIN: MARKED }, clientId: DASHBOARD_CLIENT_ID });
    expect(dashboard).toEqual(renderEmail({ ...facts, template: 'SIGNIN' }));
    expect(dashboard.text).toContain('482913');
    expect(renderEmail({ ...facts, template: 'SIGNIN', templates: { SIGNIN: MARKED }, clientId: 'skc_app' }).text).toBe('MARKED 482913');
  });

  it('an email whose saved template would carry no credential goes out with the built-in one', () => {
    const rendered = renderEmail({ ...facts, template: 'SIGNIN', templates: { SIGNIN: BROKEN }, clientId: 'skc_app' });
    expect(rendered.subject).not.toBe('Locked');
    expect(rendered.text).toContain('482913');
    expect(rendered.html).toContain('482913');
  });

  let sesame: TestSesame | undefined;
  afterEach(async () => {
    await sesame?.close();
    sesame = undefined;
  });

  it('the worker renders by the caller of the auth request: an admin gets the code whatever template is saved', async () => {
    sesame = await openTestSesame({ clock: { now: () => facts.now } });
    await sesame.store.putSetting(TEMPLATES_SETTING_KEY, JSON.stringify({ SIGNIN: MARKED }), facts.now);
    const clock = { now: () => facts.now };
    await sesame.engine.send({ email: 'root@example.com', magiclinkAuthUri: REDIRECT }, { id: DASHBOARD_CLIENT_ID, redirectUris: [] });
    await sesame.send('app-user@example.com');
    const worker = createOutboxWorker({
      store: sesame.store,
      sealer: sesame.sealer,
      transport: createDevInboxTransport({ store: sesame.store, clock }),
      content: settingsContentSource(sesame.store),
      clock,
      logger: silentLogger,
      ownerId: 'checks-worker',
    });
    await worker.runOnce();
    const inbox = await sesame.store.listDevInbox({ limit: 10 });
    const admin = inbox.find((m) => m.to === 'root@example.com')!;
    const user = inbox.find((m) => m.to === 'app-user@example.com')!;
    expect(admin.text).not.toContain('MARKED');
    expect(admin.text).toMatch(/\b\d{6}\b/);
    expect(user.text).toMatch(/^MARKED \d{6}$/);
  });
});

describe('the custom variables a template declares', () => {
  it('are the names it uses that are not built in, in any part', () => {
    expect(declaredTemplateVariables(DEFAULT_TEMPLATES.SIGNIN)).toEqual(new Set());
    const template = {
      subject: 'Hi {{team}} at {{app_name}}',
      html: '<p>{{#company}}{{company}}{{/company}} {{otp}}</p>',
      text: '{{plan}} {{otp}} {{link}}',
    };
    expect(declaredTemplateVariables(template)).toEqual(new Set(['team', 'company', 'plan']));
  });

  let sesame: TestSesame | undefined;
  afterEach(async () => {
    await sesame?.close();
    sesame = undefined;
  });

  it('follow the saved template of each type, and the default without one', async () => {
    sesame = await openTestSesame();
    const declared = declaredVariablesSource(sesame.store);
    expect(await declared('SIGNIN')).toEqual(new Set());
    await sesame.store.putSetting(
      TEMPLATES_SETTING_KEY,
      JSON.stringify({ SIGNUP: { subject: '{{team}}', html: '<p>{{otp}}</p>', text: '{{otp}}' } }),
      Date.now(),
    );
    expect(await declared('SIGNUP')).toEqual(new Set(['team']));
    expect(await declared('SIGNIN')).toEqual(new Set());
    await sesame.store.putSetting(TEMPLATES_SETTING_KEY, '{not json', Date.now());
    expect(await declared('SIGNUP')).toEqual(new Set());
  });
});
