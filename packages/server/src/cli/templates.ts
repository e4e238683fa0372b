/**
 * `sesame templates reset [SIGNIN|SIGNUP]`: removes the saved email template of a type (both
 * without one), so the built-in template applies again from the next email. Goes through the
 * dashboard's own code, with an audit entry per template by the actor `cli`. Works with the
 * server stopped, for a template that stops mail from reaching anyone.
 */
import { TEMPLATE_TYPES, type TemplateType } from '@sesame/core';
import { resetTemplates } from '../admin/templates.js';
import { CLI_ACTOR, UsageError, withStore } from './support.js';
import type { Config } from '../config.js';

export const TEMPLATES_USAGE = `  templates reset [SIGNIN|SIGNUP] [--json]
                                     remove the saved email template (both without a type):
                                     the built-in one applies from the next email
`;

export async function templatesCommand(
  config: Config,
  io: { readonly stdout: (text: string) => void },
  sub: string | undefined,
  rest: readonly string[],
  json: boolean,
): Promise<number> {
  const usage = 'Usage: sesame templates reset [SIGNIN|SIGNUP] [--json]';
  if (sub !== 'reset' || rest.length > 1) throw new UsageError(usage);
  const named = rest[0];
  if (named !== undefined && !(TEMPLATE_TYPES as readonly string[]).includes(named))
    throw new UsageError(`Unknown template ${named.slice(0, 40)}. ${usage}`);
  const types: readonly TemplateType[] = named === undefined ? TEMPLATE_TYPES : [named as TemplateType];
  return withStore(config, async (store) => {
    await store.migrate();
    const reset = await resetTemplates(store, types, CLI_ACTOR, Date.now());
    if (json) {
      io.stdout(`${JSON.stringify({ reset, unchanged: types.filter((type) => !reset.includes(type)) })}\n`);
    } else {
      const lines = types.map((type) =>
        reset.includes(type)
          ? `Removed the saved ${type} template; the built-in one applies from the next email.`
          : `The ${type} template was already the built-in one.`,
      );
      io.stdout(`${lines.join('\n')}\n`);
    }
    return 0;
  });
}
