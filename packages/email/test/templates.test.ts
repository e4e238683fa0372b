import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TEMPLATES,
  escapeHtml,
  formatAbsoluteTime,
  formatRelativeDuration,
  parseBrand,
  renderEmail,
  renderPreview,
  renderTemplate,
  textColorOn,
  validateEmailTemplate,
  validateTemplate,
} from '../src/index.js';

const NOW = Date.UTC(2025, 10, 25, 14, 0, 0);

describe('template renderer', () => {
  it('substitutes variables, escaping in HTML only', () => {
    const vars = { name: '<b>"Tom" & Jerry\'s</b>' };
    expect(renderTemplate('Hi {{name}}!', vars, 'html')).toBe('Hi &lt;b&gt;&quot;Tom&quot; &amp; Jerry&#39;s&lt;/b&gt;!');
    expect(renderTemplate('Hi {{ name }}!', vars, 'text')).toBe('Hi <b>"Tom" & Jerry\'s</b>!');
  });

  it('renders unknown variables empty and never reaches the prototype', () => {
    expect(renderTemplate('[{{missing}}][{{constructor}}][{{__proto__}}]', {}, 'text')).toBe('[][][]');
  });

  it('shows a section only when its variable is non-empty, an inverted one only when empty', () => {
    const source = '{{#otp}}code {{otp}}{{/otp}}{{^otp}}no code{{/otp}}';
    expect(renderTemplate(source, { otp: '123456' }, 'text')).toBe('code 123456');
    expect(renderTemplate(source, { otp: '' }, 'text')).toBe('no code');
    expect(renderTemplate(source, {}, 'text')).toBe('no code');
    expect(renderTemplate('{{#a}}A{{#b}}B{{/b}}{{/a}}', { a: 'x' }, 'text')).toBe('A');
  });

  it('renders malformed tags literally and still closes an unclosed section', () => {
    expect(renderTemplate('a {{ b c }} {{x}}', { x: 'X' }, 'text')).toBe('a {{ b c }} X');
    expect(renderTemplate('{{#a}}A', { a: '1' }, 'text')).toBe('A');
  });

  it('reports syntax problems and unknown variables', () => {
    expect(validateTemplate('{{#a}}x', ['a'])).toMatchObject({ ok: false, problems: ['{{#a}} is never closed'] });
    expect(validateTemplate('x{{/a}}', ['a']).problems).toEqual(['{{/a}} closes no open section']);
    expect(validateTemplate('{{ bad tag }}', []).ok).toBe(false);
    expect(validateTemplate('{{otp}} {{team}} {{team}}', ['otp'])).toEqual({ ok: true, problems: [], unknownVariables: ['team'] });
    const custom = { subject: 'Hi {{team}}', html: '<p>{{otp}}</p>', text: '{{#link}}{{link}}' };
    const result = validateEmailTemplate(custom);
    expect(result.ok).toBe(false);
    expect(result.subject.unknownVariables).toEqual(['team']);
    expect(validateEmailTemplate(custom, ['team']).subject.unknownVariables).toEqual([]);
  });

  it('keeps the default templates free of problems and unknown variables', () => {
    for (const template of Object.values(DEFAULT_TEMPLATES)) {
      const result = validateEmailTemplate(template);
      expect(result.ok).toBe(true);
      expect([...result.subject.unknownVariables, ...result.html.unknownVariables, ...result.text.unknownVariables]).toEqual([]);
    }
  });
});

describe('time wording', () => {
  it('reads the remaining time in words', () => {
    expect(formatRelativeDuration(300_000)).toBe('5 minutes');
    expect(formatRelativeDuration(299_950)).toBe('5 minutes');
    expect(formatRelativeDuration(60_000)).toBe('1 minute');
    expect(formatRelativeDuration(45_000)).toBe('45 seconds');
    expect(formatRelativeDuration(3_600_000)).toBe('1 hour');
    expect(formatRelativeDuration(5_400_000)).toBe('1 hour 30 minutes');
    expect(formatRelativeDuration(-5)).toBe('0 seconds');
  });

  it('prints the absolute time in UTC', () => {
    expect(formatAbsoluteTime(NOW + 300_000)).toBe('25 Nov 2025, 14:05 UTC');
  });
});

describe('brand', () => {
  it('validates and normalises', () => {
    expect(parseBrand({ appName: 'Acme', accentColor: '#ABC', logoUrl: 'https://acme.test/logo.png', fromName: 'Acme Support' })).toEqual({
      appName: 'Acme',
      accentColor: '#aabbcc',
      logoUrl: 'https://acme.test/logo.png',
      fromName: 'Acme Support',
    });
    expect(() => parseBrand({ accentColor: 'red; background:url(x)' })).toThrow(/INVALID_ARGUMENT|Invalid/i);
    expect(() => parseBrand({ logoUrl: 'javascript:alert(1)' })).toThrow();
    expect(() => parseBrand({ fromName: 'Evil\r\nBcc: x@y.z' })).toThrow();
  });

  it('picks a readable button text colour', () => {
    expect(textColorOn('#4f46e5')).toBe('#ffffff');
    expect(textColorOn('#fde047')).toBe('#111827');
  });
});

describe('renderEmail', () => {
  const base = { template: 'SIGNIN' as const, email: 'jane@example.com', expiresAt: NOW + 300_000, now: NOW };
  const link = 'https://app.test/verify?link_token=tok&x=1';

  it('LINK_OTP carries both, with the built-ins filled', () => {
    const mail = renderEmail({ ...base, otp: '042917', link });
    expect(mail.subject).toBe('Sign in to Sesame');
    expect(mail.html).toContain('042917');
    expect(mail.html).toContain('href="https://app.test/verify?link_token=tok&amp;x=1"');
    expect(mail.html).toContain('5 minutes');
    expect(mail.html).toContain('25 Nov 2025, 14:05 UTC');
    expect(mail.html).toContain('jane@example.com');
    expect(mail.text).toContain(link);
    expect(mail.text).toContain('Or enter this code: 042917');
  });

  it('LINK shows no code, OTP shows no link', () => {
    const linkOnly = renderEmail({ ...base, otp: null, link });
    expect(linkOnly.html).not.toMatch(/enter (this|the) code/i);
    expect(linkOnly.text).not.toMatch(/code/i);
    const otpOnly = renderEmail({ ...base, otp: '042917', link: null });
    expect(otpOnly.subject).toBe('Your Sesame sign-in code');
    expect(otpOnly.html).not.toContain('href=');
    expect(otpOnly.html).not.toMatch(/button/i);
    expect(otpOnly.text).not.toMatch(/link/i);
  });

  it('uses brand, custom templates and request variables; built-ins win', () => {
    const brand = parseBrand({ appName: 'Acme', accentColor: '#ff0000', logoUrl: 'https://acme.test/l.png' });
    const mail = renderEmail({
      ...base,
      template: 'SIGNUP',
      otp: '1',
      link: null,
      brand,
      templates: { SIGNUP: { subject: '{{team}}: {{app_name}}\r\nBcc: x', html: '<p>{{team}} {{otp}}</p>', text: '{{team}}' } },
      templateVariables: { team: '<script>alert(1)</script>', app_name: 'Evil', otp: '999' },
    });
    expect(mail.subject).toBe('<script>alert(1)</script>: Acme Bcc: x');
    expect(mail.html).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt; 1</p>');
    expect(renderEmail({ ...base, otp: null, link, brand }).html).toContain('background-color:#ff0000');
    expect(renderEmail({ ...base, otp: null, link, brand }).html).toContain('src="https://acme.test/l.png"');
  });

  it('renders a preview for every type without real credentials', () => {
    for (const type of ['OTP', 'LINK', 'LINK_OTP'] as const) {
      const preview = renderPreview({ template: 'SIGNUP', type, now: NOW });
      expect(preview.html.includes('123456')).toBe(type !== 'LINK');
      expect(preview.html.includes('preview-only')).toBe(type !== 'OTP');
    }
  });

  it('escapes the five HTML specials', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});
