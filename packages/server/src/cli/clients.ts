/**
 * `sesame clients …`: create, list, rotate, revoke and set-limit. Every change goes through
 * ../clients.ts (the dashboard's code) and writes its audit entry in the same store call.
 * `--json` prints exactly one JSON object; secrets are printed once, at create and rotate.
 */
import {
  MAX_SENDS_PER_MINUTE,
  clientWire,
  createClient,
  revokeClient,
  rotateClientSecret,
  setClientSendLimit,
} from '../auth/api-clients.js';
import { CLI_ACTOR, UsageError, withStore } from './support.js';
import type { Config } from '../config.js';
import { deriveServerKeys } from '../auth/derived-keys.js';
import { resolveSecret } from '../auth/server-secret.js';

export interface ClientsCommandIo {
  readonly stdout: (text: string) => void;
}

export interface ClientsCommandOptions {
  readonly name: string | undefined;
  readonly redirectUris: readonly string[];
  /** `--sends-per-minute` as typed. */
  readonly sendsPerMinute: string | undefined;
  readonly json: boolean;
}

export const CLIENTS_USAGE = `  clients create --name N [--redirect-uri U]… [--sends-per-minute N] [--json]
                                     create an API client; prints its id and secret once
                                     (--redirect-uri may repeat; a trailing * makes a prefix rule;
                                     --sends-per-minute: its send budget, default the deployment's)
  clients list [--json]              list API clients
  clients rotate ID [--json]         new secret, printed once; the old secret and every access
                                     token issued before stop working at once
  clients revoke ID [--json]         revoke an API client (its tokens stop working at once and
                                     its queued emails are not sent)
  clients set-limit ID N|default [--json]
                                     set a client's sends a minute (default: the deployment's)
`;

/** A send budget as typed on the command line: N, or `default` (null). */
function parseLimit(text: string, flag: string): number | null {
  if (text === 'default') return null;
  const value = Number(text);
  if (!/^\d{1,7}$/.test(text) || value < 1 || value > MAX_SENDS_PER_MINUTE) {
    throw new UsageError(`${flag} must be a whole number from 1 to ${MAX_SENDS_PER_MINUTE}${flag === 'N' ? ', or default' : ''}.`);
  }
  return value;
}

const author = () => ({ actor: CLI_ACTOR, at: Date.now() });

export async function clientsCommand(
  config: Config,
  io: ClientsCommandIo,
  sub: string | undefined,
  rest: readonly string[],
  options: ClientsCommandOptions,
): Promise<number> {
  const { json } = options;
  const print = (value: object, human: string) => io.stdout(json ? `${JSON.stringify(value)}\n` : human);
  switch (sub) {
    case 'create': {
      if (options.name === undefined || rest.length > 0)
        throw new UsageError('Usage: sesame clients create --name N [--redirect-uri U]… [--sends-per-minute N] [--json]');
      const sendsPerMinute = options.sendsPerMinute === undefined ? null : parseLimit(options.sendsPerMinute, '--sends-per-minute');
      const key = deriveServerKeys(resolveSecret(config).bytes).clientSecret;
      return withStore(config, async (store) => {
        await store.migrate();
        const now = Date.now();
        const client = await createClient(store, {
          key,
          name: options.name!,
          redirectUris: options.redirectUris,
          now,
          sendsPerMinute,
          author: { actor: CLI_ACTOR, at: now },
        });
        print(
          { client_id: client.record.id, client_secret: client.secret },
          `Created client "${client.record.name}".\n  client_id:     ${client.record.id}\n  client_secret: ${client.secret}\n` +
            'The secret is shown only this once; store it in your app (e.g. SCALEKIT_CLIENT_SECRET).\n',
        );
        return 0;
      });
    }
    case 'list':
      if (rest.length > 0) throw new UsageError('Usage: sesame clients list [--json]');
      return withStore(config, async (store) => {
        await store.migrate();
        const rows = (await store.listApiClients()).map((c) => {
          const { id, ...wire } = clientWire(c);
          return { client_id: id, ...wire };
        });
        if (json) io.stdout(`${JSON.stringify({ clients: rows })}\n`);
        else if (rows.length === 0) io.stdout('No clients. Create one with `sesame clients create --name NAME`.\n');
        else
          io.stdout(
            `${rows
              .map(
                (r) =>
                  `${r.client_id}  ${r.name}  ${r.revoked_at === null ? 'active' : `revoked ${r.revoked_at}`}  ` +
                  `${r.sends_per_minute === null ? 'default' : r.sends_per_minute}/min  ${r.redirect_uris.join(',')}`,
              )
              .join('\n')}\n`,
          );
        return 0;
      });
    case 'rotate': {
      if (rest.length !== 1) throw new UsageError('Usage: sesame clients rotate ID [--json]');
      const id = rest[0]!;
      const key = deriveServerKeys(resolveSecret(config).bytes).clientSecret;
      return withStore(config, async (store) => {
        await store.migrate();
        const rotated = await rotateClientSecret(store, { key, clientId: id, author: author() });
        if (!rotated) {
          print({ client_id: id, rotated: false }, `No active client ${id}.\n`);
          return 1;
        }
        print(
          { client_id: rotated.record.id, client_secret: rotated.secret },
          `New secret for "${rotated.record.name}".\n  client_id:     ${rotated.record.id}\n  client_secret: ${rotated.secret}\n` +
            'The old secret and every access token issued with it stopped working. The new secret is shown only this once.\n',
        );
        return 0;
      });
    }
    case 'revoke': {
      if (rest.length !== 1) throw new UsageError('Usage: sesame clients revoke ID [--json]');
      const id = rest[0]!;
      return withStore(config, async (store) => {
        await store.migrate();
        const result = await revokeClient(store, { clientId: id, now: Date.now(), author: author() });
        const revoked = result?.revoked === true;
        print({ client_id: id, revoked }, revoked ? `Revoked ${id}.\n` : `No active client ${id}.\n`);
        return revoked ? 0 : 1;
      });
    }
    case 'set-limit': {
      if (rest.length !== 2) throw new UsageError('Usage: sesame clients set-limit ID N|default [--json]');
      const [id, text] = rest as [string, string];
      const sendsPerMinute = parseLimit(text, 'N');
      return withStore(config, async (store) => {
        await store.migrate();
        const updated = await setClientSendLimit(store, { clientId: id, sendsPerMinute, author: author() });
        if (!updated) {
          print({ client_id: id, updated: false }, `No active client ${id}.\n`);
          return 1;
        }
        print(
          { client_id: id, sends_per_minute: updated.sendsPerMinute },
          `${id} may send ${updated.sendsPerMinute === null ? "the deployment's default number of emails" : `${updated.sendsPerMinute} emails`} a minute.\n`,
        );
        return 0;
      });
    }
    default:
      throw new UsageError('Usage: sesame clients create|list|rotate|revoke|set-limit …');
  }
}
