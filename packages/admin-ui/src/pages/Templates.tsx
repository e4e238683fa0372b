/**
 * Templates and branding: SIGNIN/SIGNUP subject, HTML and text, with a live preview rendered by
 * the server (debounced POST preview) and shown in a sandboxed iframe that allows no scripts.
 */
import { useEffect, useRef, useState, type SyntheticEvent } from 'react';
import { ApiError, api, violationFor, violationsOf, type FieldViolation, type Rendered, type Template, type TemplateType } from '../api.js';
import { Alert, ConfirmDialog, Field, errorMessage, useDebounced } from '../ui.js';
import { useAction, useLoad } from '../use-action.js';
import { BrandForm } from './BrandForm.js';

const TYPES: readonly TemplateType[] = ['SIGNIN', 'SIGNUP'];
/** The two bodies an admin edits, HTML first: the field each one sets, its label and its height. */
const BODY_FIELDS = [
  { key: 'html', label: 'HTML body', rows: 14 },
  { key: 'text', label: 'Text body', rows: 7 },
] as const;

export function TemplatesPage({ email }: { email: string }) {
  // Bumped when the branding is saved or reset: the preview renders again with it.
  const [brandVersion, setBrandVersion] = useState(0);
  return (
    <section>
      <div className="page-head">
        <h1>Templates &amp; branding</h1>
        <p className="muted">The emails Sesame sends. Variables are written {'{{like_this}}'} and HTML-escaped.</p>
      </div>
      <TemplateEditor email={email} brandVersion={brandVersion} />
      <BrandForm onChanged={() => setBrandVersion((v) => v + 1)} />
    </section>
  );
}

/** "html: unknown variable {{nmae}}" — the server's words, field by field. */
function templateProblem(error: unknown): string {
  if (error instanceof ApiError && error.code === 'INVALID_ARGUMENT') {
    const lines = error.fieldViolations.map((v) => `${v.field}: ${v.description}`);
    return lines.length > 0 ? `This template is not valid — ${lines.join('; ')}` : `This template is not valid — ${error.message}`;
  }
  return errorMessage(error);
}

function TemplateEditor({ email, brandVersion }: { email: string; brandVersion: number }) {
  const [type, setType] = useState<TemplateType>('SIGNIN');
  const [saved, setSaved] = useState<Record<TemplateType, Template> | undefined>();
  const [drafts, setDrafts] = useState<Record<TemplateType, Template> | undefined>();
  const [variables, setVariables] = useState<readonly string[]>([]);
  const [preview, setPreview] = useState<Rendered | undefined>();
  const [previewError, setPreviewError] = useState<string | undefined>();
  const [violations, setViolations] = useState<FieldViolation[]>([]);
  const [message, setMessage] = useState<string | undefined>();
  const [confirmReset, setConfirmReset] = useState(false);
  const { busy, error, setError, run } = useAction();
  const previewSeq = useRef(0);
  // What the admin typed in "Custom variables" (the draft keeps the parsed names).
  const [customRaw, setCustomRaw] = useState<Record<TemplateType, string>>({ SIGNIN: '', SIGNUP: '' });
  const adopt = (templates: Record<TemplateType, Template>, only?: TemplateType): void => {
    setSaved(templates);
    setDrafts((old) => ({
      SIGNIN: only === 'SIGNUP' && old ? old.SIGNIN : { ...templates.SIGNIN },
      SIGNUP: only === 'SIGNIN' && old ? old.SIGNUP : { ...templates.SIGNUP },
    }));
    setCustomRaw((old) => ({
      SIGNIN: only === 'SIGNUP' ? old.SIGNIN : templates.SIGNIN.custom_variables.join(', '),
      SIGNUP: only === 'SIGNIN' ? old.SIGNUP : templates.SIGNUP.custom_variables.join(', '),
    }));
  };

  useLoad(async () => {
    const answer = await api.templates();
    adopt(answer.templates);
    setVariables(answer.variables);
  }, setError);

  const draft = drafts?.[type];
  const debounced = useDebounced(draft, 350);

  useEffect(() => {
    if (!debounced) return;
    const seq = ++previewSeq.current;
    api
      .preview(type, debounced)
      .then((rendered) => {
        if (seq !== previewSeq.current) return;
        setPreview(rendered);
        setPreviewError(undefined);
      })
      .catch((e: unknown) => {
        if (seq !== previewSeq.current) return;
        setPreviewError(templateProblem(e));
      });
  }, [debounced, type, brandVersion]);

  if (!drafts || !saved || !draft) {
    return <div className="card">{error !== undefined ? <Alert kind="error">{error}</Alert> : <p className="muted">Loading…</p>}</div>;
  }

  const edit = (patch: Partial<Template>): void => {
    setDrafts({ ...drafts, [type]: { ...draft, ...patch } });
    setMessage(undefined);
  };
  const customText = (t: Template): string => t.custom_variables.join(', ');
  const dirty =
    draft.subject !== saved[type].subject ||
    draft.html !== saved[type].html ||
    draft.text !== saved[type].text ||
    customText(draft) !== customText(saved[type]);
  const v = (field: string): string | undefined => violationFor(violations, field);

  const save = async (event: SyntheticEvent): Promise<void> => {
    event.preventDefault();
    setMessage(undefined);
    await run(
      async () => {
        await api.saveTemplate(type, draft);
        setViolations([]);
        adopt((await api.templates()).templates, type);
        setMessage(`${type} template saved. The next ${type} email uses it.`);
      },
      (e) => {
        setViolations(violationsOf(e));
        return templateProblem(e);
      },
    );
  };

  const reset = async (): Promise<void> => {
    setConfirmReset(false);
    await run(async () => {
      await api.resetTemplate(type);
      adopt((await api.templates()).templates, type);
      setViolations([]);
      setMessage(`${type} template is back to the default.`);
    });
  };

  const sendTest = async (): Promise<void> => {
    await run(async () => {
      await api.testEmail(type);
      setMessage(
        `A test email with the saved ${type} template is on its way to ${email}. Its code and link sign no one in. Its delivery shows in Activity.`,
      );
    });
  };

  return (
    <div className="card">
      <div className="tabs" role="group" aria-label="Template">
        {TYPES.map((t) => (
          <button
            key={t}
            type="button"
            className={`tab${t === type ? ' active' : ''}`}
            aria-pressed={t === type}
            onClick={() => {
              setType(t);
              setViolations([]);
              setError(undefined);
              setMessage(undefined);
              setPreview(undefined);
            }}
          >
            {t === 'SIGNIN' ? 'Sign-in (SIGNIN)' : 'Sign-up (SIGNUP)'}
          </button>
        ))}
        <span className="badge" aria-label="Template status">
          {saved[type].is_default ? 'default' : 'customized'}
          {dirty ? ' · unsaved changes' : ''}
        </span>
      </div>
      {error !== undefined && <Alert kind="error">{error}</Alert>}
      {message !== undefined && <Alert kind="success">{message}</Alert>}
      <div className="editor">
        <form onSubmit={(e) => void save(e)} noValidate aria-label={`${type} template`}>
          <Field label="Subject" error={v('subject')}>
            {(props) => <input {...props} value={draft.subject} onChange={(e) => edit({ subject: e.target.value })} spellCheck={false} />}
          </Field>
          {BODY_FIELDS.map(({ key, label, rows }) => (
            <Field key={key} label={label} error={v(key)}>
              {(props) => (
                <textarea
                  {...props}
                  className="mono"
                  rows={rows}
                  value={draft[key]}
                  onChange={(e) => edit({ [key]: e.target.value })}
                  spellCheck={false}
                />
              )}
            </Field>
          ))}
          <Field
            label="Custom variables (optional)"
            hint="Names of template_variables your app sends, comma-separated; usable as {{name}}."
            error={v('custom_variables')}
          >
            {(props) => (
              <input
                {...props}
                className="mono"
                value={customRaw[type]}
                onChange={(e) => {
                  setCustomRaw({ ...customRaw, [type]: e.target.value });
                  edit({
                    custom_variables: e.target.value
                      .split(',')
                      .map((n) => n.trim())
                      .filter((n) => n !== ''),
                  });
                }}
                spellCheck={false}
              />
            )}
          </Field>
          <p className="hint">
            Every email must include the code and/or the link (as the policy's type asks) as visible text in both bodies. Custom variables
            may be used in text and in quoted attributes such as title or alt, never in links, image sources, styles or event handlers.
            Dashboard sign-in emails always use the built-in template.
          </p>
          <p className="hint">
            Built-in variables:{' '}
            {variables.map((name, i) => (
              <span key={name}>
                {i > 0 && ' '}
                <code>{`{{${name}}}`}</code>
              </span>
            ))}
          </p>
          <div className="actions">
            <button
              type="button"
              className="button secondary"
              disabled={busy || saved[type].is_default}
              onClick={() => setConfirmReset(true)}
            >
              Reset to default
            </button>
            <button type="button" className="button secondary" disabled={busy} onClick={() => void sendTest()}>
              Send a test email to me
            </button>
            <button type="submit" className="button primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save template'}
            </button>
          </div>
        </form>
        <div className="preview" aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          <p className="hint">Rendered by Sesame with sample values (code 123456, a sample link, your email). Nothing is sent.</p>
          {previewError !== undefined && (
            <div className="alert alert-error" role="alert" data-testid="preview-error">
              {previewError}
            </div>
          )}
          {preview && (
            <div className={previewError !== undefined ? 'stale' : undefined}>
              <p className="preview-subject">
                <span className="muted">Subject:</span> <strong data-testid="preview-subject">{preview.subject}</strong>
              </p>
              <iframe title="HTML preview" sandbox="" referrerPolicy="no-referrer" srcDoc={preview.html} className="preview-frame" />
              <details>
                <summary>Text version</summary>
                <pre className="preview-text" data-testid="preview-text">
                  {preview.text}
                </pre>
              </details>
            </div>
          )}
        </div>
      </div>
      <ConfirmDialog
        open={confirmReset}
        title={`Reset the ${type} template?`}
        confirmLabel="Reset to default"
        danger
        onConfirm={() => void reset()}
        onCancel={() => setConfirmReset(false)}
      >
        <p>The saved subject, HTML and text are replaced by Sesame&apos;s built-in template.</p>
      </ConfirmDialog>
    </div>
  );
}
