/**
 * The request bodies of `/networks/create`, `connect` and `disconnect`, and the endpoint config
 * of a create body's NetworkingConfig, validated with zod; a type error is a 400 naming the field.
 */
import { z } from 'zod/v3';
import { invalidArgument } from '../errors.js';

export const endpointConfigSchema = z
  .object({
    IPAMConfig: z.object({ IPv4Address: z.string().nullish(), IPv6Address: z.string().nullish() }).nullish(),
    Links: z.array(z.string()).nullish(),
    Aliases: z.array(z.string()).nullish(),
    MacAddress: z.string().nullish(),
    DriverOpts: z.record(z.string(), z.string()).nullish(),
  })
  .passthrough();

export const createBodySchema = z.object({
  Name: z.string(),
  Driver: z.string().nullish(),
  Scope: z.string().nullish(),
  Internal: z.boolean().nullish(),
  Attachable: z.boolean().nullish(),
  Ingress: z.boolean().nullish(),
  ConfigOnly: z.boolean().nullish(),
  EnableIPv4: z.boolean().nullish(),
  EnableIPv6: z.boolean().nullish(),
  IPAM: z
    .object({
      Driver: z.string().nullish(),
      Options: z.record(z.string(), z.string()).nullish(),
      Config: z
        .array(
          z.object({
            Subnet: z.string().nullish(),
            IPRange: z.string().nullish(),
            Gateway: z.string().nullish(),
            AuxiliaryAddresses: z.record(z.string(), z.string()).nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
  Options: z.record(z.string(), z.string()).nullish(),
  Labels: z.record(z.string(), z.string()).nullish(),
});

export const connectBodySchema = z.object({
  Container: z.string(),
  EndpointConfig: endpointConfigSchema.nullish(),
});
export const disconnectBodySchema = z.object({ Container: z.string(), Force: z.boolean().nullish() });

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidArgument('invalid JSON: the request body must be a JSON object');
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw invalidArgument(
      parsed.error.issues.map((i) => `invalid value for ${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  return parsed.data;
}

export type EndpointConfigInput = z.output<typeof endpointConfigSchema>;
