/**
 * Docker's seccomp profile format (moby/profiles `seccomp.Seccomp`): OCI's `linux.seccomp` plus
 * `archMap` and per-rule `includes`/`excludes` on capabilities, architectures and kernel version.
 * `--security-opt seccomp=<file>` sends such a profile as text; it is parsed here with moby's
 * messages (`Decoding seccomp profile failed: …`).
 */
import { z } from 'zod/v3';
import { invalidArgument } from '../../errors.js';

const ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;

const OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;

/** Argument values are uint64 in Go; JSON numbers past 2^53 cannot be held exactly here. */
const u64 = z
  .number()
  .int()
  .safe()
  .min(0)
  .max(Number.MAX_SAFE_INTEGER, { message: 'values above 2^53 cannot be represented exactly' });
const u32 = z.number().int().safe().min(0).max(0xffffffff);
const stringList = z.array(z.string()).nullish();

const filterSchema = z
  .object({
    caps: stringList,
    arches: stringList,
    /** "4.8": the rule applies from (includes) or up to (excludes) this kernel. */
    minKernel: z.string().nullish(),
  })
  .nullish();

const argSchema = z.object({
  index: z.number().int().safe().min(0).max(5),
  value: u64,
  valueTwo: u64.nullish(),
  op: z.enum(OPERATORS),
});

const syscallSchema = z.object({
  name: z.string().nullish(),
  names: stringList,
  action: z.enum(ACTIONS),
  errnoRet: u32.nullish(),
  args: z.array(argSchema).nullish(),
  comment: z.string().nullish(),
  includes: filterSchema,
  excludes: filterSchema,
});

export const dockerSeccompProfileSchema = z.object({
  defaultAction: z.union([z.enum(ACTIONS), z.literal('')]).nullish(),
  defaultErrnoRet: u32.nullish(),
  architectures: stringList,
  archMap: z.array(z.object({ architecture: z.string(), subArchitectures: stringList })).nullish(),
  listenerPath: z.string().nullish(),
  listenerMetadata: z.string().nullish(),
  flags: stringList,
  syscalls: z.array(syscallSchema).nullish(),
});

export type DockerSeccompProfile = z.output<typeof dockerSeccompProfileSchema>;
export type DockerSeccompSyscall = z.output<typeof syscallSchema>;

const MAX_PROFILE_BYTES = 1024 * 1024;

/** Parses a profile's JSON text (moby seccomp.LoadProfile's decoding step). */
export function parseDockerSeccompProfile(text: string): DockerSeccompProfile {
  const fail = (detail: string) => invalidArgument(`Decoding seccomp profile failed: ${detail}`);
  if (text.length > MAX_PROFILE_BYTES) throw fail(`the profile is larger than ${MAX_PROFILE_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw fail((err as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw fail('the profile must be a JSON object');
  const parsed = dockerSeccompProfileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw fail(`${issue.path.map(String).join('.') || 'profile'}: ${issue.message}`);
  }
  if (parsed.data.listenerPath) throw fail('seccomp listeners (listenerPath) are not supported');
  return parsed.data;
}
