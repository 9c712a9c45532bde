/** The body of `POST /containers/{id}/exec`, validated, and the exec's stored config. */
import { z } from 'zod/v3';
import { invalidArgument } from '../errors.js';

export const execCreateSchema = z.object({
  AttachStdin: z.boolean().nullish(),
  AttachStdout: z.boolean().nullish(),
  AttachStderr: z.boolean().nullish(),
  DetachKeys: z.string().nullish(),
  ConsoleSize: z.array(z.number().int().safe().min(0)).length(2).nullish(),
  Tty: z.boolean().nullish(),
  Env: z.array(z.string()).nullish(),
  Cmd: z.array(z.string()).nullish(),
  Privileged: z.boolean().nullish(),
  User: z.string().nullish(),
  WorkingDir: z.string().nullish(),
});

export type ExecCreateBody = z.output<typeof execCreateSchema>;

export function parseExecCreate(body: unknown): ExecCreateBody & { Cmd: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidArgument('invalid JSON: the request body must be an object');
  const parsed = execCreateSchema.safeParse(body);
  if (!parsed.success) {
    throw invalidArgument(
      parsed.error.issues.map((i) => `invalid value for ${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  const cmd = parsed.data.Cmd;
  if (!cmd || cmd.length === 0 || cmd[0] === '') throw invalidArgument('No exec command specified');
  if (parsed.data.WorkingDir && !parsed.data.WorkingDir.startsWith('/')) {
    throw invalidArgument(
      `the working directory '${parsed.data.WorkingDir}' is invalid, it needs to be an absolute path`,
    );
  }
  return { ...parsed.data, Cmd: cmd };
}
