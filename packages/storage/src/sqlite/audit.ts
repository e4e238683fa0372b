/** Appending to the audit log, inside the transaction of the change it records. */
import type { NewAuditEntry } from '@sesame/core';
import type { Statements } from './statements.js';

/** A writer of audit entries; `undefined` (a change made without an actor) writes nothing. */
export function auditWriter({ run }: Statements): (entry: NewAuditEntry | undefined) => void {
  return (entry) => {
    if (!entry) return;
    run('INSERT INTO audit_log (at, actor, action, before_json, after_json) VALUES (@at, @actor, @action, @before, @after)', {
      at: entry.at,
      actor: entry.actor,
      action: entry.action,
      before: entry.before,
      after: entry.after,
    });
  };
}
