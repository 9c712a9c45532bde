/**
 * `HostConfig.SecurityOpt` (`--security-opt`), parsed as moby's parseSecurityOpt does. The CLI
 * sends `seccomp=<file>` with the file's JSON content in place of its name.
 */
import { invalidArgument } from '../errors.js';
import { parseDockerSeccompProfile } from './seccomp/docker-profile.js';

/** `seccomp=builtin`: Docker's default profile (moby SeccompProfileDefault). */
export const SECCOMP_PROFILE_DEFAULT = 'builtin';
/** `seccomp=unconfined`: no filter. */
export const SECCOMP_PROFILE_UNCONFINED = 'unconfined';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** `builtin`, `unconfined`, or a profile's JSON text; undefined: the daemon's default. */
  seccompProfile?: string;
  /** `writable-cgroups=true`: the container's cgroupfs is mounted read-write. */
  writableCgroups?: boolean;
  /** AppArmor profile / SELinux labels: accepted and recorded, not enforced on this daemon. */
  apparmorProfile?: string;
  labels: string[];
}

function parseBool(value: string): boolean | undefined {
  // Go's strconv.ParseBool.
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

export function parseSecurityOptions(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, labels: [] };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') {
      out.labels.push('disable');
      continue;
    }
    // `:` was the separator before 17.04; moby still accepts it with a warning.
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : undefined;
    if (!sep) throw invalidArgument(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const at = opt.indexOf(sep);
    const key = opt.slice(0, at);
    const value = opt.slice(at + 1);
    switch (key) {
      case 'label':
        out.labels.push(value);
        break;
      case 'apparmor':
        out.apparmorProfile = value;
        break;
      case 'seccomp':
        out.seccompProfile = value;
        break;
      case 'no-new-privileges': {
        const b = parseBool(value);
        if (b === undefined) throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.noNewPrivileges = b;
        break;
      }
      case 'writable-cgroups': {
        const b = parseBool(value);
        if (b === undefined) throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.writableCgroups = b;
        break;
      }
      default:
        throw invalidArgument(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  const profile = out.seccompProfile;
  if (profile && profile !== SECCOMP_PROFILE_DEFAULT && profile !== SECCOMP_PROFILE_UNCONFINED)
    parseDockerSeccompProfile(profile); // a bad profile is a 400 at create, not a failed start
  return out;
}
