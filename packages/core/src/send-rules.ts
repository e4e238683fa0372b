/**
 * What bounds a send besides the per-address limit: the send budgets of the calling client and
 * of the deployment, and how much of a request's template variables is kept.
 */
import { utf8 } from './encoding.js';
import { SesameError, invalidArgument } from './errors.js';
import type { TemplateType } from './policy.js';
import type { SendBudget, SendLimitScope } from './store.js';

export interface SendBudgetSettings {
  /** Sends a minute of a client that has no budget of its own. */
  readonly perClientPerMinute: number;
  /** Sends a minute of every client together. */
  readonly deploymentPerMinute: number;
}

export const SEND_BUDGET_WINDOW_MS = 60_000;

/**
 * Largest stored `template_variables`, in UTF-8 bytes of the JSON object as written to the
 * database (names, values, quotes, escapes and separators). Without it, 30 variables of 256
 * characters made a row of ~23 KiB.
 */
export const MAX_STORED_TEMPLATE_VARIABLE_BYTES = 4096;

/** The budgets a send or resend of `caller` is counted against; none when budgets are off. */
export function sendBudgetsFor(
  caller: { readonly id: string; readonly sendsPerMinute?: number | null },
  settings: SendBudgetSettings | undefined,
): SendBudget[] {
  if (!settings) return [];
  return [
    {
      key: `client:${caller.id}`,
      scope: 'client',
      max: caller.sendsPerMinute ?? settings.perClientPerMinute,
      windowMs: SEND_BUDGET_WINDOW_MS,
    },
    { key: 'deployment', scope: 'deployment', max: settings.deploymentPerMinute, windowMs: SEND_BUDGET_WINDOW_MS },
  ];
}

const SEND_LIMIT_MESSAGES: Readonly<Record<SendLimitScope, string>> = {
  address: 'Too many emails sent to this address; try again later.',
  client: 'This client has reached its send budget for the minute; try again later.',
  deployment: 'This deployment has reached its send budget for the minute; try again later.',
};

/** SEND_LIMIT_EXCEEDED naming the limit that refused the send, with when to try again. */
export function sendLimitError(scope: SendLimitScope, retryAfterMs: number): SesameError {
  return new SesameError('SEND_LIMIT_EXCEEDED', SEND_LIMIT_MESSAGES[scope], { retryAfterMs, details: { scope } });
}

/**
 * The template variables to store and email: those the template declares when that is known,
 * within MAX_STORED_TEMPLATE_VARIABLE_BYTES (INVALID_ARGUMENT on `template_variables` beyond).
 */
export async function storedTemplateVariables(
  given: Readonly<Record<string, string>>,
  template: TemplateType,
  declared: ((template: TemplateType) => ReadonlySet<string> | Promise<ReadonlySet<string>>) | undefined,
): Promise<Readonly<Record<string, string>>> {
  let kept: Record<string, string> = { ...given };
  if (declared && Object.keys(given).length > 0) {
    const names = await declared(template);
    kept = Object.fromEntries(Object.entries(given).filter(([name]) => names.has(name)));
  }
  if (utf8.encode(JSON.stringify(kept)).length > MAX_STORED_TEMPLATE_VARIABLE_BYTES) {
    throw invalidArgument([
      {
        field: 'template_variables',
        description: `must total at most ${MAX_STORED_TEMPLATE_VARIABLE_BYTES} bytes (UTF-8, as JSON) for the variables the template uses`,
      },
    ]);
  }
  return kept;
}
