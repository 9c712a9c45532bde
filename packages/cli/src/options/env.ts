/**
 * `-e` values like docker's `opts.ValidateEnv`: `KEY=value` as given; a bare `KEY` takes the
 * client's value when it has one and is otherwise passed on unchanged.
 */

export class EnvParseError extends Error {}

export function resolveEnvFlag(flag: string, env: NodeJS.ProcessEnv): string {
  const eq = flag.indexOf('=');
  const key = eq === -1 ? flag : flag.slice(0, eq);
  if (key === '') throw new EnvParseError(`invalid environment variable: ${flag}`);
  if (eq !== -1) return flag;
  const value = env[key];
  return value === undefined ? flag : `${key}=${value}`;
}
