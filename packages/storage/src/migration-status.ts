/**
 * One reading of the schema's state for both backends: what is applied, what this build would
 * apply, and whether a newer build has been here (then this one must neither migrate nor serve).
 */
import type { AppliedMigration, MigrationStatus } from '@sesame/core';
import type { Migration } from './sqlite/migrations.js';

/** The database was migrated by a newer Sesame: running this build on it could corrupt data. */
export class NewerSchemaError extends Error {
  constructor(
    readonly databaseVersion: number,
    readonly latestVersion: number,
  ) {
    super(
      `The database schema is at version ${databaseVersion}, newer than this Sesame build knows (up to ${latestVersion}): ` +
        'a newer Sesame has migrated it. Run that newer Sesame (or a later one), or restore a backup taken before the upgrade. ' +
        'Migrations are forward-only; nothing was changed.',
    );
    this.name = 'NewerSchemaError';
  }
}

export function isNewerSchemaError(error: unknown): error is NewerSchemaError {
  return error instanceof NewerSchemaError;
}

export function migrationStatusOf(known: readonly Migration[], applied: readonly AppliedMigration[]): MigrationStatus {
  const latestVersion = known.reduce((max, step) => Math.max(max, step.version), 0);
  const databaseVersion = applied.reduce((max, step) => Math.max(max, step.version), 0);
  // Forward-only: a step counts as pending when it is above everything recorded.
  const pending = known.filter((step) => step.version > databaseVersion).map(({ version, name }) => ({ version, name }));
  const sorted = [...applied].sort((a, b) => a.version - b.version);
  return { applied: sorted, pending, databaseVersion, latestVersion, databaseNewer: databaseVersion > latestVersion };
}

/** Throws NewerSchemaError when the database is ahead of this build. */
export function assertNotNewer(databaseVersion: number, latestVersion: number): void {
  if (databaseVersion > latestVersion) throw new NewerSchemaError(databaseVersion, latestVersion);
}
