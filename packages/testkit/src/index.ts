export { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';
export { isMailTo, type CapturedMail } from './mail-record.js';
export { freePort, freePortPair } from './ports.js';
export { nextBuildWarnings } from './next-build.js';
export {
  betterSqlitePrebuilds,
  installOutside,
  installedSesame,
  makeOutsideDir,
  npmEnv,
  packSesame,
  type InstallOutsideOptions,
  type InstallResult,
  type PackedSesame,
} from './packed.js';
export { queryPostgres } from './postgres-query.js';
export { querySqlite } from './sqlite-query.js';
export { startPostgresCluster, postgresAvailable, POSTGRES_BIN, type PostgresCluster, type PostgresClusterOptions } from './postgres.js';
export { killStartedProcesses, startProcess, waitForOutput, type RunningProcess, type StartProcessOptions } from './processes.js';
export { REPO_ROOT, SESAME_BIN } from './repo.js';
export { blockMajor, blockPath, readmeApp, readmeBlocks, readmeSection, type ReadmeApp, type ReadmeBlock } from './readme-app.js';
export { fetchAccessToken, requestAccessToken, type ClientCredentials } from './sesame-api.js';
export { buildServerPackage, createApiClientWithCli, runSesameCli, type SesameCliOptions } from './sesame-cli.js';
export { isolatedSesameEnv, type IsolatedSesame } from './sesame-env.js';
export { startSesameWithMail, type RunningSesame } from './sesame-with-mail.js';
export { startSesameProcess, type SesameProcess, type SesameProcessOptions } from './sesame-process.js';
export { startSmtpCapture, type SmtpCapture, type SmtpCaptureOptions } from './smtp.js';
export { startFaultySmtp, type FaultySmtp, type FaultySmtpOptions, type SmtpFault } from './smtp-faults.js';
export { withDirectoryLock } from './dir-lock.js';
export { waitUntil } from './wait.js';
export {
  execForm,
  healthcheckOf,
  instructionsOf,
  lastArgs,
  npmTarballInstall,
  parseDockerfile,
  readDockerfile,
  relocate,
  runCommands,
  stageEnv,
  type DockerInstruction,
  type DockerStage,
  type Healthcheck,
  type NpmInstallStep,
} from './dockerfile.js';
