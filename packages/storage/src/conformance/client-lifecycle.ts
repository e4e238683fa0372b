/**
 * API clients over their life: revocation fails the client's queued emails in its own
 * transaction and no worker delivers one afterwards; rotation bumps the secret version; the
 * per-client send limit is kept; every change commits with its audit entry or not at all; and a
 * change is seen by the next read at once, whatever the backend memoises.
 */
import { describe, expect, it } from 'vitest';
import type { ApiClientRecord, NewAuditEntry, Store } from '@sesame/core';
import { MINUTE, T0, apiClient as client, newRequest, nextTurn } from './fixtures.js';
import { openStore } from '../open.js';
import { requestActions, type SuiteContext } from './context.js';

const REVOKED = 'client revoked';

function audit(action: string, at = T0): NewAuditEntry {
  return { at, actor: 'root@example.com', action, before: null, after: `{"action":"${action}"}` };
}

/** An audit entry the database must refuse (its actor is NOT NULL): the change with it must not land. */
function brokenAudit(action: string): NewAuditEntry {
  return { ...audit(action), actor: null as unknown as string };
}

export function registerClientLifecycleSuite(ctx: SuiteContext): void {
  const { create, reissue } = requestActions(ctx);

  describe('API client lifecycle: revocation, rotation, send limit, audit', () => {
    async function auditActions(store: Store): Promise<string[]> {
      return (await store.listAudit({ limit: 100 })).map((entry) => entry.action).reverse();
    }

    it('revoking fails every queued email of the client in the same transaction, with the reason on its timeline', async () => {
      const store = ctx.store();
      await store.createApiClient(client('c1'));
      await store.createApiClient(client('c2'));
      const queued = await create({ clientId: 'c1', now: T0 });
      const claimed = await create({ clientId: 'c1', now: T0 + 1 });
      const sent = await create({ clientId: 'c1', now: T0 + 2 });
      const resent = await create({ clientId: 'c1', now: T0 + 3 });
      const bystander = await create({ clientId: 'c2', now: T0 + 4 });
      // The built-in admin sign-in has no api_clients row: never revoked.
      const admin = await create({ clientId: 'sesame-admin', now: T0 + 5 });
      // A worker holds `claimed` (one attempt made) and `sent` (delivered).
      const claims = await store.claimOutbox({ owner: 'w', now: T0 + 10, leaseMs: MINUTE, limit: 3 });
      expect(claims.map((claim) => claim.id)).toEqual([queued.email.id, claimed.email.id, sent.email.id]);
      expect(await store.markOutboxRetry({ id: queued.email.id, owner: 'w', now: T0 + 11, detail: '421', nextAttemptAt: T0 + 12 })).toBe(
        true,
      );
      expect(await store.recordDeliveryAttempt({ id: claimed.email.id, owner: 'w', now: T0 + 11, detail: null })).toBe(true);
      expect(await store.markOutboxSent({ id: sent.email.id, owner: 'w', now: T0 + 11, detail: '250 OK' })).toBe(true);
      const { fresh, result } = await reissue(resent, T0 + 20, { sendLimit: { max: 10, windowMs: MINUTE } });
      expect(result.outcome).toBe('reissued');
      expect(await store.outboxDepth()).toBe(5);

      const now = T0 + 100;
      expect(await store.revokeApiClient('c1', now, audit('client.revoke', now))).toBe(true);
      expect(await store.findApiClient('c1')).toMatchObject({ revokedAt: now });
      expect(await auditActions(store)).toEqual(['client.revoke']);
      // Only c2's and the admin's emails are left to deliver.
      expect(await store.outboxDepth()).toBe(2);
      const failed = { kind: 'failed', at: now, detail: REVOKED };
      expect((await store.deliveryTimeline(queued.id)).at(-1)).toMatchObject({ ...failed, outboxId: queued.email.id, attempt: null });
      expect((await store.deliveryTimeline(claimed.id)).at(-1)).toMatchObject({ ...failed, outboxId: claimed.email.id, attempt: 1 });
      expect(
        (await store.deliveryTimeline(resent.id)).map((event) => [
          event.outboxId === fresh.email.id ? 'new' : 'old',
          event.kind,
          event.detail,
        ]),
      ).toEqual([
        ['old', 'queued', null],
        ['old', 'superseded', null],
        ['new', 'queued', null],
        ['new', 'failed', REVOKED],
      ]);
      // A sent email stays sent.
      expect((await store.deliveryTimeline(sent.id)).map((event) => event.kind)).toEqual(['queued', 'sent']);
      // The worker still holding `claimed` can neither attempt nor settle it.
      expect(await store.recordDeliveryAttempt({ id: claimed.email.id, owner: 'w', now: now + 1, detail: null })).toBe(false);
      expect(await store.markOutboxSent({ id: claimed.email.id, owner: 'w', now: now + 1, detail: null })).toBe(false);
      const next = await store.claimOutbox({ owner: 'w2', now: now + MINUTE, leaseMs: MINUTE, limit: 10 });
      expect(next.map((claim) => claim.authRequestId).sort()).toEqual([bystander.id, admin.id].sort());

      // A second revocation changes nothing and records nothing.
      expect(await store.revokeApiClient('c1', now + 5, audit('client.revoke', now + 5))).toBe(false);
      expect(await store.revokeApiClient('nope', now + 5, audit('client.revoke', now + 5))).toBe(false);
      expect(await auditActions(store)).toEqual(['client.revoke']);
      expect((await store.deliveryTimeline(queued.id)).filter((event) => event.kind === 'failed')).toHaveLength(1);
    });

    it('an email handed straight to a worker (written leased) is refused at its attempt once its client is revoked', async () => {
      const store = ctx.store();
      await store.createApiClient(client('c1'));
      const handed = await newRequest({ clientId: 'c1', now: T0 });
      const command = { ...handed.command, email: { ...handed.email, lease: { owner: 'inproc', until: T0 + MINUTE } } };
      expect(await store.createAuthRequest(command)).toEqual({ ok: true });
      expect(await store.revokeApiClient('c1', T0 + 1)).toBe(true);
      expect(await store.recordDeliveryAttempt({ id: handed.email.id, owner: 'inproc', now: T0 + 2, detail: null })).toBe(false);
      expect((await store.deliveryTimeline(handed.id)).map((event) => [event.kind, event.detail])).toEqual([
        ['queued', null],
        ['failed', REVOKED],
      ]);
    });

    it('never hands out or sends an email of a revoked client, even one queued after the revocation', async () => {
      const store = ctx.store();
      await store.createApiClient(client('c1'));
      expect(await store.revokeApiClient('c1', T0)).toBe(true);
      // A send that passed its client check just before the revocation commits just after it.
      const late = await create({ clientId: 'c1', now: T0 + 1 });
      const handed = await newRequest({ clientId: 'c1', now: T0 + 2 });
      expect(
        await store.createAuthRequest({ ...handed.command, email: { ...handed.email, lease: { owner: 'inproc', until: T0 + 10 } } }),
      ).toEqual({ ok: true });
      const unknown = await create({ clientId: 'not-a-registered-client', now: T0 + 3 });
      const claims = await store.claimOutbox({ owner: 'w', now: T0 + MINUTE, leaseMs: MINUTE, limit: 10 });
      expect(claims.map((claim) => claim.authRequestId)).toEqual([unknown.id]);
      expect(await store.recordDeliveryAttempt({ id: handed.email.id, owner: 'inproc', now: T0 + 5, detail: null })).toBe(false);
      expect(await store.recordDeliveryAttempt({ id: late.email.id, owner: 'w', now: T0 + 5, detail: null })).toBe(false);
    });

    it('rotation bumps the secret version of an active client only', async () => {
      const store = ctx.store();
      await store.createApiClient(client('c1'));
      await store.createApiClient(client('imported', { secretVersion: 7, sendsPerMinute: 30 }));
      expect(await store.findApiClient('c1')).toEqual(client('c1'));
      expect(await store.findApiClient('imported')).toEqual(client('imported', { secretVersion: 7, sendsPerMinute: 30 }));
      expect(await store.updateApiClientSecret('c1', 'hash-2', audit('client.rotate'))).toBe(2);
      expect(await store.updateApiClientSecret('c1', 'hash-3', audit('client.rotate'))).toBe(3);
      expect(await store.updateApiClientSecret('imported', 'hash-x')).toBe(8);
      expect(await store.findApiClient('c1')).toMatchObject({ secretHash: 'hash-3', secretVersion: 3 });
      expect((await store.listApiClients()).map((c) => [c.id, c.secretVersion])).toEqual([
        ['c1', 3],
        ['imported', 8],
      ]);
      expect(await store.revokeApiClient('c1', T0 + 1)).toBe(true);
      expect(await store.updateApiClientSecret('c1', 'hash-4', audit('client.rotate'))).toBeNull();
      expect(await store.updateApiClientSecret('nope', 'hash-4', audit('client.rotate'))).toBeNull();
      expect(await store.findApiClient('c1')).toMatchObject({ secretHash: 'hash-3', secretVersion: 3 });
      expect(await auditActions(store)).toEqual(['client.rotate', 'client.rotate']);
    });

    it('keeps a per-client send limit, or none for the deployment default', async () => {
      const store = ctx.store();
      await store.createApiClient(client('c1'));
      expect(await store.updateApiClientSendLimit('c1', 50, audit('client.send_limit'))).toBe(true);
      expect(await store.findApiClient('c1')).toMatchObject({ sendsPerMinute: 50 });
      expect(await store.updateApiClientSendLimit('c1', null, audit('client.send_limit'))).toBe(true);
      expect(await store.findApiClient('c1')).toMatchObject({ sendsPerMinute: null });
      expect(await store.updateApiClientSendLimit('nope', 5, audit('client.send_limit'))).toBe(false);
      await store.revokeApiClient('c1', T0 + 1);
      expect(await store.updateApiClientSendLimit('c1', 5, audit('client.send_limit'))).toBe(false);
      expect(await store.findApiClient('c1')).toMatchObject({ sendsPerMinute: null });
      expect(await auditActions(store)).toEqual(['client.send_limit', 'client.send_limit']);
    });

    describe('each change commits with its audit entry, or neither does', () => {
      interface Case {
        readonly name: string;
        /** Runs the change with the given audit entry. */
        readonly change: (store: Store, entry: NewAuditEntry) => Promise<unknown>;
        /** What the store shows of the change (compared before and after). */
        readonly observe: (store: Store) => Promise<unknown>;
      }
      const cases: Case[] = [
        {
          name: 'create',
          change: (store, entry) => store.createApiClient(client('new'), entry),
          observe: (store) => store.findApiClient('new'),
        },
        {
          name: 'revoke',
          change: (store, entry) => store.revokeApiClient('c1', T0 + 9, entry),
          observe: async (store) => [await store.findApiClient('c1'), await store.outboxDepth()],
        },
        {
          name: 'rotate',
          change: (store, entry) => store.updateApiClientSecret('c1', 'rotated', entry),
          observe: (store) => store.findApiClient('c1'),
        },
        {
          name: 'send limit',
          change: (store, entry) => store.updateApiClientSendLimit('c1', 9, entry),
          observe: (store) => store.findApiClient('c1'),
        },
      ];

      for (const { name, change, observe } of cases) {
        it(`${name}: an audit entry the database refuses leaves the change undone; a good one lands with it`, async () => {
          const store = ctx.store();
          await store.createApiClient(client('c1'));
          await create({ clientId: 'c1' });
          const before = await observe(store);
          await expect(change(store, brokenAudit(`client.${name}`))).rejects.toThrow();
          expect(await observe(store)).toEqual(before);
          expect(await auditActions(store)).toEqual([]);
          await change(store, audit(`client.${name}`));
          expect(await observe(store)).not.toEqual(before);
          expect(await auditActions(store)).toEqual([`client.${name}`]);
        });
      }

      it('a change that does not happen records no audit entry', async () => {
        const store = ctx.store();
        await store.createApiClient(client('c1'), audit('client.create'));
        await expect(store.createApiClient(client('c1', { name: 'again' }), audit('client.create'))).rejects.toThrow();
        await store.createApiClient(client('gone', { revokedAt: T0 }));
        for (const id of ['gone', 'nope']) {
          expect(await store.revokeApiClient(id, T0 + 1, audit('client.revoke'))).toBe(false);
          expect(await store.updateApiClientSecret(id, 'h', audit('client.rotate'))).toBeNull();
          expect(await store.updateApiClientSendLimit(id, 1, audit('client.send_limit'))).toBe(false);
        }
        expect(await auditActions(store)).toEqual(['client.create']);
        expect(await store.findApiClient('c1')).toEqual(client('c1'));
      });
    });

    it('a read right after a change sees it, on this connection at once and on another from the next turn', async () => {
      const store = ctx.store();
      await store.createApiClient(client('c1'));
      const reads = async (expected: Partial<ApiClientRecord>) => {
        // Twice: a memo filled by the first read must not answer the second with an older row.
        expect(await store.findApiClient('c1')).toMatchObject(expected);
        expect(await store.findApiClient('c1')).toMatchObject(expected);
      };
      await reads({ secretVersion: 1 });
      expect(await store.updateApiClientSecret('c1', 'h2')).toBe(2);
      await reads({ secretVersion: 2, secretHash: 'h2' });
      expect(await store.updateApiClientSendLimit('c1', 10)).toBe(true);
      await reads({ sendsPerMinute: 10 });
      const other = openStore(ctx.opened().url);
      try {
        expect(await other.updateApiClientSecret('c1', 'h3')).toBe(3);
        await nextTurn();
        await reads({ secretVersion: 3, secretHash: 'h3' });
        expect(await other.updateApiClientSendLimit('c1', null)).toBe(true);
        await nextTurn();
        await reads({ sendsPerMinute: null });
        expect(await other.revokeApiClient('c1', T0 + 5)).toBe(true);
        await nextTurn();
        await reads({ revokedAt: T0 + 5 });
      } finally {
        await other.close();
      }
    });
  });
}
