/**
 * A race participant: a worker thread with its own store connection, opened from a URL exactly
 * as a second Sesame process would. Runs its operations concurrently once told to go.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Store } from '@sesame/core';
import { openStore } from '../open.js';
import type { RaceOp, RaceResult, RaceWorkerData, WorkerToMain } from './race-protocol.js';

async function run(store: Store, op: RaceOp): Promise<RaceResult> {
  switch (op.kind) {
    case 'migrate':
      await store.migrate();
      return { kind: 'migrate', ready: await store.ready() };
    case 'consumeWithOtp':
      return { kind: 'consumeWithOtp', result: await store.consumeWithOtp(op.command) };
    case 'createAuthRequest':
      return { kind: 'createAuthRequest', result: await store.createAuthRequest(op.command) };
    case 'reissueCredentials':
      return { kind: 'reissueCredentials', result: await store.reissueCredentials(op.command) };
    case 'drainOutbox': {
      const claimedIds: string[] = [];
      for (;;) {
        const claims = await store.claimOutbox(op.command);
        if (claims.length === 0) return { kind: 'drainOutbox', claimedIds };
        claimedIds.push(...claims.map((claim) => claim.id));
      }
    }
  }
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('race-worker must run as a worker thread.');
  const post = (message: WorkerToMain): void => port.postMessage(message);
  const data = workerData as RaceWorkerData;
  let store: Store;
  try {
    store = openStore(data.url);
  } catch (error) {
    post({ type: 'error', message: describe(error) });
    return;
  }
  // The only message the main thread sends is the start signal.
  port.once('message', () => {
    Promise.all(data.ops.map((op) => run(store, op)))
      .then((results) => post({ type: 'done', results }))
      .catch((error: unknown) => post({ type: 'error', message: describe(error) }))
      .finally(() => void store.close().finally(() => port.close()));
  });
  post({ type: 'ready' });
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

main();
