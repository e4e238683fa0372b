/**
 * `signIn.template` and `signIn.templateVariables`: fixed values, or functions of the address
 * (sync or async) the app answers from its own users. Their answers are checked here; a wrong
 * one is the app's bug and ends the send as INTERNAL, logged.
 */
import type { PasswordlessTemplate } from '@sesame/client';

export type TemplateSetting = PasswordlessTemplate | ((email: string) => PasswordlessTemplate | Promise<PasswordlessTemplate>);

export type TemplateVariables = Readonly<Record<string, string>>;

export type TemplateVariablesSetting = TemplateVariables | ((email: string) => TemplateVariables | Promise<TemplateVariables>);

export function templateChooser(setting: TemplateSetting | undefined): (email: string) => Promise<PasswordlessTemplate | undefined> {
  if (setting === undefined) return () => Promise.resolve(undefined);
  if (typeof setting !== 'function') checkTemplate(setting);
  return async (email) => checkTemplate(typeof setting === 'function' ? await setting(email) : setting);
}

export function variablesChooser(setting: TemplateVariablesSetting | undefined): (email: string) => Promise<TemplateVariables | undefined> {
  if (setting === undefined) return () => Promise.resolve(undefined);
  if (typeof setting !== 'function') checkVariables(setting);
  return async (email) => checkVariables(typeof setting === 'function' ? await setting(email) : setting);
}

function checkTemplate(value: unknown): PasswordlessTemplate {
  if (value !== 'SIGNIN' && value !== 'SIGNUP') throw new Error("signIn.template must be 'SIGNIN' or 'SIGNUP'.");
  return value;
}

function checkVariables(value: unknown): TemplateVariables {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('signIn.templateVariables must be an object of strings.');
  }
  for (const [name, text] of Object.entries(value)) {
    if (typeof text !== 'string') throw new Error(`signIn.templateVariables.${name} must be a string.`);
  }
  return value as TemplateVariables;
}
