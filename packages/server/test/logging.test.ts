import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets, REDACTED_KEYS } from '../src/index.js';

function capture(): { lines: () => Record<string, unknown>[]; sink: Writable } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { lines, sink };
}

describe('log redaction', () => {
  it('censors every listed field at any depth, in log objects and child bindings', async () => {
    const { lines, sink } = capture();
    const logger = createLogger('info', sink);
    const secrets = Object.fromEntries([...REDACTED_KEYS].map((key, i) => [key, `SECRET-${i}-${key}`]));
    logger.info({ ...secrets, route: '/x', nested: { ...secrets, deeper: { list: [{ ...secrets }] } } }, 'everything');
    logger
      .child({ token: 'SECRET-binding', requestId: 'r-1' })
      .child({ nested: { otp: 'SECRET-grandchild' } })
      .info({ status: 200 }, 'child');
    logger.info('plain message');
    await new Promise((resolve) => setImmediate(resolve));
    const text = JSON.stringify(lines());
    expect(text).not.toMatch(/SECRET-/);
    const [first, child, plain] = lines();
    expect(first).toMatchObject({ msg: 'everything', route: '/x', token: '[redacted]', link: '[redacted]' });
    expect(first!.nested).toMatchObject({ authorization: '[redacted]', deeper: { list: [{ client_secret: '[redacted]' }] } });
    expect(child).toMatchObject({ msg: 'child', token: '[redacted]', requestId: 'r-1', status: 200 });
    expect(plain).toMatchObject({ msg: 'plain message', service: 'sesame' });
  });

  it('returns the same object when nothing is secret, and never changes the caller’s object', () => {
    const clean = { requestId: 'r', route: '/api', status: 200, nested: { a: [1, 2] } };
    expect(redactSecrets(clean)).toBe(clean);
    const dirty = { route: '/api', headers: { authorization: 'Bearer abc', accept: '*/*' } };
    const out = redactSecrets(dirty);
    expect(out).toEqual({ route: '/api', headers: { authorization: '[redacted]', accept: '*/*' } });
    expect(dirty.headers.authorization).toBe('Bearer abc');
  });

  it('replaces objects nested past the depth bound whole, so a deep secret cannot slip through', () => {
    let deep: Record<string, unknown> = { password: 'SECRET' };
    for (let i = 0; i < 10; i++) deep = { inner: deep };
    expect(JSON.stringify(redactSecrets(deep))).not.toContain('SECRET');
  });

  it('leaves errors and other non-plain objects to pino’s serializers', () => {
    const error = new Error('boom');
    const when = new Date(0);
    const out = redactSecrets({ err: error, at: when });
    expect(out.err).toBe(error);
    expect(out.at).toBe(when);
  });
});
