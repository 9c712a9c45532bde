/**
 * The body of `POST /containers/create`, validated. Docker ignores unknown fields (clients send
 * ~60 HostConfig keys, most zero), so unknown keys are dropped rather than refused; the fields
 * tsdocker acts on are typed, and a wrong type is a 400 that names the field.
 */
import { z } from 'zod/v3';
import { invalidArgument } from '../errors.js';
import { verifySecurityConfig } from '../security/container-security.js';

const stringList = z.array(z.string()).nullish();
const stringMap = z.record(z.string(), z.string()).nullish();
const emptyObjectMap = z.record(z.string(), z.unknown()).nullish();
// Safe integers only (what zod 4's int() meant): JSON numbers beyond 2^53 are not exact.
const int = z.number().int().safe();

export const healthcheckSchema = z.object({
  Test: stringList,
  Interval: int.nullish(),
  Timeout: int.nullish(),
  StartPeriod: int.nullish(),
  StartInterval: int.nullish(),
  Retries: int.nullish(),
});

/** The container's own settings (Docker's `Config`). */
export const containerConfigSchema = z.object({
  Hostname: z.string().nullish(),
  Domainname: z.string().nullish(),
  User: z.string().nullish(),
  AttachStdin: z.boolean().nullish(),
  AttachStdout: z.boolean().nullish(),
  AttachStderr: z.boolean().nullish(),
  ExposedPorts: emptyObjectMap,
  Tty: z.boolean().nullish(),
  OpenStdin: z.boolean().nullish(),
  StdinOnce: z.boolean().nullish(),
  Env: stringList,
  Cmd: z.union([z.array(z.string()), z.string()]).nullish(),
  Healthcheck: healthcheckSchema.nullish(),
  ArgsEscaped: z.boolean().nullish(),
  Image: z.string().nullish(),
  Volumes: emptyObjectMap,
  WorkingDir: z.string().nullish(),
  Entrypoint: z.union([z.array(z.string()), z.string()]).nullish(),
  NetworkDisabled: z.boolean().nullish(),
  OnBuild: stringList,
  Labels: stringMap,
  StopSignal: z.string().nullish(),
  StopTimeout: int.nullish(),
  Shell: stringList,
});

export const restartPolicySchema = z.object({
  Name: z.enum(['', 'no', 'always', 'unless-stopped', 'on-failure']).nullish(),
  MaximumRetryCount: int.nullish(),
});

export const hostConfigSchema = z.object({
  Binds: stringList,
  NetworkMode: z.string().nullish(),
  RestartPolicy: restartPolicySchema.nullish(),
  AutoRemove: z.boolean().nullish(),
  ConsoleSize: z.array(int.min(0)).length(2).nullish(),
  LogConfig: z.object({ Type: z.string().nullish(), Config: stringMap }).nullish(),
  Privileged: z.boolean().nullish(),
  ReadonlyRootfs: z.boolean().nullish(),
  CapAdd: stringList,
  CapDrop: stringList,
  GroupAdd: stringList,
  Memory: int.min(0).nullish(),
  MemorySwap: int.nullish(),
  MemoryReservation: int.min(0).nullish(),
  NanoCpus: int.min(0).nullish(),
  CpuShares: int.min(0).nullish(),
  CpuQuota: int.min(0).nullish(),
  CpuPeriod: int.min(0).nullish(),
  PidsLimit: int.nullish(),
  ShmSize: int.min(0).nullish(),
  Dns: stringList,
  DnsOptions: stringList,
  DnsSearch: stringList,
  ExtraHosts: stringList,
  PortBindings: z
    .record(
      z.string(),
      z.array(z.object({ HostIp: z.string().nullish(), HostPort: z.string().nullish() })).nullable(),
    )
    .nullish(),
  PublishAllPorts: z.boolean().nullish(),
  Links: stringList,
  Init: z.boolean().nullish(),
  // Confinement (checked with Docker's messages by security/container-security.ts).
  SecurityOpt: stringList,
  Ulimits: z
    .array(z.object({ Name: z.string().nullish(), Soft: int.nullish(), Hard: int.nullish() }))
    .nullish(),
  Sysctls: stringMap,
  Tmpfs: stringMap,
  Devices: z
    .array(
      z.object({
        PathOnHost: z.string().nullish(),
        PathInContainer: z.string().nullish(),
        CgroupPermissions: z.string().nullish(),
      }),
    )
    .nullish(),
  DeviceCgroupRules: stringList,
  MaskedPaths: stringList,
  ReadonlyPaths: stringList,
});

export const createBodySchema = containerConfigSchema.extend({
  HostConfig: hostConfigSchema.nullish(),
  NetworkingConfig: z.object({ EndpointsConfig: z.record(z.string(), z.unknown()).nullish() }).nullish(),
});

export type ContainerConfigInput = z.output<typeof containerConfigSchema>;
export type HostConfigInput = z.output<typeof hostConfigSchema>;
export type CreateBody = z.output<typeof createBodySchema>;

function describeIssue(issue: z.ZodIssue): string {
  const field = issue.path.map(String).join('.');
  return field ? `invalid value for ${field}: ${issue.message}` : issue.message;
}

/** Parses a create body; a type error becomes a 400 naming the field. */
export function parseCreateBody(body: unknown): CreateBody {
  if (body === null || body === undefined)
    throw invalidArgument('config cannot be empty in order to create a container');
  if (typeof body !== 'object' || Array.isArray(body))
    throw invalidArgument('invalid JSON: the request body must be an object');
  const parsed = createBodySchema.safeParse(body);
  if (!parsed.success) throw invalidArgument(parsed.error.issues.map(describeIssue).join('; '));
  if (parsed.data.HostConfig) verifySecurityConfig(parsed.data.HostConfig);
  return parsed.data;
}

/** Docker accepts `Cmd`/`Entrypoint` as a string too (old clients); normalise to arrays. */
export function toArgv(value: string[] | string | null | undefined): string[] | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? [value] : value;
}
