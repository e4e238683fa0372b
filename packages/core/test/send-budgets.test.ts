/**
 * What bounds one client's mail and one auth request's size: every send and resend counts
 * against the calling client's budget (its own, or the deployment's per-client default) and the
 * deployment's, and a refusal says which with a Retry-After; only the template variables a
 * template declares are stored, under a byte cap.
 */
import Database from 'better-sqlite3';
import { domainToASCII } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as core from '@sesame/core';
import { normalizeEmail, type CallerClient, type EngineDeps, type TemplateType } from '@sesame/core';
import { T0, errorOf, openHarness, outcomeOf, type Harness } from './helpers/harness.js';

const LINK_URI = 'http://localhost:3000/api/auth/verify';
const alpha: CallerClient = { id: 'skc_alpha', redirectUris: [] };
const beta: CallerClient = { id: 'skc_beta', redirectUris: [] };
const BUDGETS = { perClientPerMinute: 3, deploymentPerMinute: 5 };

let h: Harness;
let n = 0;
beforeEach(async () => {
  h = await openHarness();
  h.policy = { ...h.policy, emailsPerAddress: { max: 60, windowMs: 60_000 } };
});
afterEach(async () => {
  await h.close();
});

/** A send to a new address each time, so that only the budgets can refuse it. */
function send(
  caller: CallerClient,
  extra: Partial<Pick<EngineDeps, 'sendBudgets' | 'declaredTemplateVariables'>> = { sendBudgets: BUDGETS },
) {
  n += 1;
  return h.engine(extra).send({ email: `new${n}@example.com`, magiclinkAuthUri: LINK_URI }, caller);
}

describe('send budgets', () => {
  it("a client past its budget gets SEND_LIMIT_EXCEEDED (scope client, Retry-After to the window's end); another client is unaffected", async () => {
    for (let i = 0; i < 3; i++) await send(alpha);
    h.now = T0 + 15_000;
    const refused = await errorOf(send(alpha));
    expect(refused.code).toBe('SEND_LIMIT_EXCEEDED');
    expect(refused.spec.http).toBe(429);
    expect(refused.details.scope).toBe('client');
    expect(refused.retryAfterMs).toBe(45_000);
    expect(refused.retryAfterSeconds).toBe(45);
    expect(refused.message).toMatch(/^This client has reached its send budget/);
    // A refused send counts nowhere: beta still has the two sends the deployment has left.
    await send(beta);
    await send(beta);
    const deployment = await errorOf(send(beta));
    expect(deployment.details.scope).toBe('deployment');
    expect(deployment.message).toMatch(/^This deployment has reached its send budget/);
    // The next window starts afresh.
    h.now = T0 + 60_000;
    await expect(send(alpha)).resolves.toBeDefined();
  });

  it('a resend counts against the same budgets, and is refused like a send', async () => {
    const first = await send(alpha);
    await h.engine({ sendBudgets: BUDGETS }).resend({ authRequestId: first.authRequestId }, alpha);
    await send(alpha);
    const refused = await errorOf(h.engine({ sendBudgets: BUDGETS }).resend({ authRequestId: first.authRequestId }, alpha));
    expect(refused.code).toBe('SEND_LIMIT_EXCEEDED');
    expect(refused.details.scope).toBe('client');
    expect((await h.store.findAuthRequest(first.authRequestId, h.now))?.sends).toBe(2);
  });

  it("a client's own sendsPerMinute replaces the default, up or down", async () => {
    const strict: CallerClient = { ...alpha, sendsPerMinute: 1 };
    await send(strict);
    expect((await errorOf(send(strict))).details.scope).toBe('client');
    const generous: CallerClient = { ...beta, sendsPerMinute: 100 };
    const big = { sendBudgets: { perClientPerMinute: 3, deploymentPerMinute: 1_000 } };
    for (let i = 0; i < 10; i++) await send(generous, big);
    expect((await outcomeOf(send({ ...beta, sendsPerMinute: null }, big)))?.details.scope).toBe('client');
  });

  it('the per-address limit is reported with scope address', async () => {
    h.policy = { ...h.policy, emailsPerAddress: { max: 1, windowMs: 60_000 } };
    const engine = h.engine({ sendBudgets: BUDGETS });
    await engine.send({ email: 'same@example.com', magiclinkAuthUri: LINK_URI }, alpha);
    const refused = await errorOf(engine.send({ email: 'same@example.com', magiclinkAuthUri: LINK_URI }, alpha));
    expect(refused.details.scope).toBe('address');
    expect(refused.message).toMatch(/this address/);
  });

  it('without sendBudgets no budget applies', async () => {
    for (let i = 0; i < 12; i++) await send(alpha, {});
  });
});

const declared = (names: Record<TemplateType, string[]>) => (template: TemplateType) => new Set(names[template]);

describe('template variables', () => {
  it('only the variables the template declares are stored and handed to the email', async () => {
    const engine = h.engine({ declaredTemplateVariables: declared({ SIGNIN: ['team', 'product'], SIGNUP: ['plan'] }) });
    const given = { team: 'Blue', product: 'Sesame', plan: 'pro', junk: 'x'.repeat(256), other: 'y' };
    const signin = await engine.send({ email: 'a@example.com', magiclinkAuthUri: LINK_URI, templateVariables: given }, alpha);
    const signup = await engine.send(
      { email: 'b@example.com', magiclinkAuthUri: LINK_URI, templateVariables: given, template: 'SIGNUP' },
      alpha,
    );
    expect((await h.store.findAuthRequest(signin.authRequestId, h.now))?.templateVariables).toEqual({ team: 'Blue', product: 'Sesame' });
    expect((await h.store.findAuthRequest(signup.authRequestId, h.now))?.templateVariables).toEqual({ plan: 'pro' });
    const claims = await h.store.claimOutbox({ owner: 't', now: h.now, leaseMs: 60_000, limit: 10 });
    const byRequest = new Map(claims.map((claim) => [claim.authRequestId, claim.request.templateVariables]));
    expect(byRequest).toEqual(
      new Map([
        [signin.authRequestId, { team: 'Blue', product: 'Sesame' }],
        [signup.authRequestId, { plan: 'pro' }],
      ]),
    );
  });

  it('the stored variables are refused beyond the byte cap (as JSON, UTF-8), on template_variables', async () => {
    const cap = (core as { MAX_STORED_TEMPLATE_VARIABLE_BYTES?: number }).MAX_STORED_TEMPLATE_VARIABLE_BYTES;
    expect(cap).toBe(4096);
    const names = Array.from({ length: 30 }, (_, i) => `variable_${String(i).padStart(2, '0')}`);
    const engine = h.engine({ declaredTemplateVariables: declared({ SIGNIN: names, SIGNUP: [] }) });
    // 30 values of 256 three-byte characters: ~23 KiB, all declared.
    const huge = Object.fromEntries(names.map((name) => [name, '\u4e2d'.repeat(256)]));
    const error = await errorOf(engine.send({ email: 'a@example.com', magiclinkAuthUri: LINK_URI, templateVariables: huge }, alpha));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.fieldViolations[0]?.field).toBe('template_variables');
    // Escapes count as stored: 600 control characters are 3,600 bytes of JSON.
    const escaped = { variable_00: '\u0001'.repeat(256), variable_01: '\u0001'.repeat(256), variable_02: '\u0001'.repeat(200) };
    expect(
      (await errorOf(engine.send({ email: 'b@example.com', magiclinkAuthUri: LINK_URI, templateVariables: escaped }, alpha))).code,
    ).toBe('INVALID_ARGUMENT');
    // Undeclared variables do not count toward the cap: they are dropped first.
    const onlyDeclared = h.engine({ declaredTemplateVariables: declared({ SIGNIN: ['variable_00'], SIGNUP: [] }) });
    const sent = await onlyDeclared.send({ email: 'c@example.com', magiclinkAuthUri: LINK_URI, templateVariables: huge }, alpha);
    expect(Object.keys((await h.store.findAuthRequest(sent.authRequestId, h.now))?.templateVariables ?? {})).toEqual(['variable_00']);
    expect(await h.store.outboxDepth()).toBe(1);
  });
});

/** The valid address with the most UTF-8 bytes: 64 three-byte characters, then the longest CJK domain whose xn-- form DNS can hold. */
function largestAddress(): string {
  const label = (count: number) => '\u4e2d'.repeat(count);
  let size = 1;
  while (domainToASCII(`${label(size + 1)}.com`).split('.')[0]!.length <= 63) size += 1;
  const labels: string[] = [];
  while (domainToASCII([...labels, label(size), 'com'].join('.')).length <= 253) labels.push(label(size));
  let last = 0;
  while (domainToASCII([...labels, label(last + 1), 'com'].join('.')).length <= 253) last += 1;
  if (last > 0) labels.push(label(last));
  return `${'\u4e2d'.repeat(64)}@${[...labels, 'com'].join('.')}`;
}

describe('the largest auth request row', () => {
  it('is bounded: the bytes stored at the largest input every field allows', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `v${String(i).padStart(2, '0')}${'x'.repeat(22)}`);
    // Fill the cap: declared variables of three-byte characters, as many as fit under 4,096 bytes.
    const variables: Record<string, string> = {};
    for (const name of names) {
      for (let length = 256; length > 0; length--) {
        const next = { ...variables, [name]: '\u4e2d'.repeat(length) };
        if (Buffer.byteLength(JSON.stringify(next)) <= 4096) {
          variables[name] = next[name]!;
          break;
        }
      }
    }
    const email = largestAddress();
    normalizeEmail(email);
    const uri = `http://localhost:3000/${'a'.repeat(1000 - 'http://localhost:3000/'.length)}`;
    const engine = h.engine({ declaredTemplateVariables: declared({ SIGNIN: names, SIGNUP: [] }) });
    const client: CallerClient = { id: `skc_${'A'.repeat(16)}`, redirectUris: [] };
    const sent = await engine.send({ email, magiclinkAuthUri: uri, state: '\u4e2d'.repeat(1000), templateVariables: variables }, client);
    const db = new Database(h.dbFile, { readonly: true });
    try {
      const row = db
        .prepare(
          `SELECT length(CAST(id AS BLOB)) AS id, length(CAST(client_id AS BLOB)) AS client_id, length(CAST(email AS BLOB)) AS email,
             length(CAST(email_key AS BLOB)) AS email_key, length(CAST(magiclink_auth_uri AS BLOB)) AS uri, length(CAST(state AS BLOB)) AS state,
             length(CAST(template_variables AS BLOB)) AS variables, length(otp_hash) + length(link_token_hash) + length(link_lookup) AS digests,
             length(template) + length(type) + length(status) AS enums
           FROM auth_requests WHERE id = ?`,
        )
        .get(sent.authRequestId) as Record<string, number>;
      const integers = 5 * 8; // created_at, expires_at, attempts, sends, consumed_at (at most 8 bytes each)
      const total = Object.values(row).reduce((sum, bytes) => sum + bytes, 0) + integers;
      console.info(`largest auth request row: ${JSON.stringify(row)}, integers ≤ ${integers}; total ${total} bytes of column data`);
      expect(row.email).toBeLessThanOrEqual(960);
      expect(row.email_key).toBeLessThanOrEqual(64 * 3 + 1 + 253);
      expect(row.uri).toBeLessThanOrEqual(1001);
      expect(row.state).toBe(3000);
      expect(row.variables).toBeLessThanOrEqual(4096);
      expect(row.variables).toBeGreaterThan(4000);
      expect(total).toBeLessThan(10 * 1024);
    } finally {
      db.close();
    }
  });
});
