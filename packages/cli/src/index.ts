/**
 * @tsdocker/cli as a library: the entry point the `tsdocker` binary runs, the Engine API client
 * and the formatting helpers, for embedding and tests.
 */
export { reportFailure, runCli } from './cli.js';
export { CliError, ExitStatus, UsageError } from './cli-errors.js';
export { ConnectionError, DaemonError } from './client/errors.js';
export {
  compareApiVersions,
  EngineClient,
  MAX_API_VERSION,
  MIN_API_VERSION,
  negotiateApiVersion,
  type PingResult,
  type SendOptions,
} from './client/http-client.js';
export { encodeQuery, type Query } from './client/query.js';
export { demultiplex, encodeFrame, type Frame, FrameParser } from './client/stdcopy.js';
export { formatImageTable, type ImageSummary } from './commands/images.js';
export { type ContainerSummary, formatContainerTable } from './commands/ps.js';
export {
  buildCreateRequest,
  type CreateRequest,
  FlagValueError,
  type RunFlags,
} from './container/create-body.js';
export { type CliIO, type CommandContext, processIO } from './context.js';
export {
  type ConfigLoadOptions,
  configLoadOptions,
  type DaemonConfigOverrides,
  type DaemonFlags,
  DEFAULT_CONFIG_FILE,
} from './daemon/daemon-options.js';
export { adaptPino, createDaemonLogger, type DaemonLogger } from './daemon/logger.js';
export {
  createModuleImporter,
  defaultModuleImporter,
  type ImportModule,
  type ModuleImporterOptions,
  resolveModule,
} from './daemon/module-importer.js';
export {
  type DaemonRuntime,
  loadDaemonRuntime,
  type RunDaemonOptions,
  runDaemon,
} from './daemon/run-daemon.js';
export { keepYoungGenerationSmall } from './daemon/young-generation.js';
export { humanSize, humanSizeWithPrecision } from './format/size.js';
export { renderTable } from './format/table.js';
export { compileTemplate } from './format/template.js';
export { humanDuration, timeAgo } from './format/time.js';
export { type DaemonHost, DEFAULT_HOST, parseDaemonHost, resolveClientHost } from './host.js';
export { CLI_VERSION } from './version.js';
