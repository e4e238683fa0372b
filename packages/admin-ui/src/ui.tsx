/** Small shared pieces: the brand mark, alerts, labelled fields, times, a confirm dialog, a one-time secret box. */
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api.js';

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.code) {
      case 'INVALID_CREDENTIAL':
        return 'That code or link is not valid. Check the latest email, or request a new one.';
      case 'EXPIRED':
        return 'That sign-in has expired. Request a new email.';
      case 'ALREADY_USED':
        return 'That sign-in was already used. Request a new email.';
      case 'TOO_MANY_ATTEMPTS':
        return 'Too many wrong codes: this sign-in is locked. Request a new email.';
      case 'SEND_LIMIT_EXCEEDED':
        return 'Too many emails to this address for now. Wait a minute and try again.';
      case 'SAME_BROWSER_REQUIRED':
        return 'Open the link in the browser where you asked for it, or enter the code there.';
      case 'AUTH_REQUEST_NOT_FOUND':
        return 'This sign-in is no longer known. Request a new email.';
      case 'CSRF_REJECTED':
        return `Refused by the CSRF check (${error.message}). Open the dashboard at Sesame's public URL (SESAME_PUBLIC_URL), reload, and try again.`;
      case 'UNAUTHENTICATED':
        return 'Your session has ended. Sign in again.';
      default: {
        const fields = error.fieldViolations.map((v) => `${v.field}: ${v.description}`).join('; ');
        return fields !== '' && error.code === 'INVALID_ARGUMENT' ? fields : error.message;
      }
    }
  }
  return error instanceof Error ? error.message : 'Something went wrong.';
}

/** "Sesame admin" with its mark, in the top bar and on the sign-in card. */
export function BrandMark({ className }: { className?: string }) {
  return (
    <div className={className === undefined ? 'brand' : `brand ${className}`}>
      <span className="brand-mark" aria-hidden="true">
        S
      </span>
      Sesame <span className="muted">admin</span>
    </div>
  );
}

export function Alert({ kind, children }: { kind: 'error' | 'success' | 'info'; children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function Time({ value, fallback = '—' }: { value: string | null | undefined; fallback?: string }) {
  if (value === null || value === undefined || value === '') return <span className="muted">{fallback}</span>;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return <span>{value}</span>;
  return (
    <time dateTime={value} title={value}>
      {date.toLocaleString(undefined, {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      })}
    </time>
  );
}

export function Field({
  label,
  hint,
  error,
  children,
}: {
  label: string;
  hint?: ReactNode;
  error?: string | undefined;
  children: (props: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint !== undefined ? hintId : '', error !== undefined ? errorId : ''].filter((s) => s !== '').join(' ');
  return (
    <div className={`field${error !== undefined ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        ...(describedBy !== '' ? { 'aria-describedby': describedBy } : {}),
        ...(error !== undefined ? { 'aria-invalid': true } : {}),
      })}
      {hint !== undefined && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      {error !== undefined && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

/** A modal `<dialog>`: focus moves into it, Escape cancels, the page behind is inert. */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger = false,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div className="dialog-body">{children}</div>
      <div className="actions">
        <button type="button" className="button secondary" onClick={onCancel} autoFocus>
          Cancel
        </button>
        <button type="button" className={`button ${danger ? 'danger' : 'primary'}`} onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A secret shown once, selectable, with a copy button. */
export function SecretBox({ label, value, children }: { label: string; value: string; children?: ReactNode }) {
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  const id = useId();
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('copied');
    } catch {
      const input = document.getElementById(id);
      if (input instanceof HTMLInputElement) input.select();
      setCopied('failed');
    }
  };
  return (
    <div className="secret-box">
      <label htmlFor={id}>{label}</label>
      <div className="secret-row">
        <input id={id} className="mono" readOnly value={value} onFocus={(e) => e.currentTarget.select()} spellCheck={false} />
        <button type="button" className="button secondary" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p className="hint" aria-live="polite">
        {copied === 'copied' ? 'Copied to the clipboard. ' : copied === 'failed' ? 'Selected: press Ctrl+C to copy. ' : ''}
        {children}
      </p>
    </div>
  );
}

export function useDebounced<T>(value: T, delayMs: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return debounced;
}
