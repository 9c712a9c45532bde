/**
 * TLS for `tcp://` listeners, as dockerd's `--tls`/`--tlsverify`: the server presents
 * `certFile`/`keyFile`; with `verifyClients` every client must present a certificate that chains
 * to `caFile` (and only to it: the system trust store is not consulted), or the handshake fails.
 *
 * The files are read and checked once, before anything listens, so a wrong path, a key that does
 * not match its certificate or an unreadable CA is a start-up error that names the file.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type TlsOptions } from 'node:tls';

export interface ApiTlsOptions {
  /** PEM certificate (chain) the server presents. */
  certFile: string;
  /** PEM private key of `certFile` (unencrypted). */
  keyFile: string;
  /** PEM CA bundle client certificates must chain to; required with `verifyClients`. */
  caFile?: string;
  /**
   * Require and verify a client certificate signed by `caFile` (dockerd's `--tlsverify`). Without
   * it the connection is encrypted but anyone may use it.
   */
  verifyClients: boolean;
}

/** PEM files are small; anything bigger is not what the flag meant. */
const MAX_PEM_BYTES = 1024 * 1024;

async function readPem(path: string, what: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new Error(`could not read the TLS ${what} ${path}: ${(err as Error).message}`);
  }
  if (data.length > MAX_PEM_BYTES) throw new Error(`the TLS ${what} ${path} is too large to be a PEM file`);
  if (!data.includes('-----BEGIN ')) throw new Error(`the TLS ${what} ${path} is not a PEM file`);
  return data;
}

function parseCertificates(pem: Buffer, path: string, what: string): X509Certificate[] {
  const blocks = pem
    .toString('latin1')
    .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new Error(`the TLS ${what} ${path} holds no certificate`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Error(`the TLS ${what} ${path} holds an invalid certificate: ${(err as Error).message}`);
    }
  });
}

/** Reads and checks the files; returns the options for `tls.createServer`/`https.createServer`. */
export async function loadServerTls(opts: ApiTlsOptions): Promise<TlsOptions> {
  if (opts.verifyClients && !opts.caFile) {
    throw new Error('verifying client certificates (--tlsverify) needs a CA certificate (--tlscacert)');
  }
  const cert = await readPem(opts.certFile, 'certificate');
  const key = await readPem(opts.keyFile, 'key');
  const ca = opts.caFile ? await readPem(opts.caFile, 'CA certificate') : undefined;

  const [leaf] = parseCertificates(cert, opts.certFile, 'certificate');
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`the TLS key ${opts.keyFile} cannot be used: ${(err as Error).message}`);
  }
  if (!leaf?.checkPrivateKey(privateKey)) {
    throw new Error(`the TLS key ${opts.keyFile} does not match the certificate ${opts.certFile}`);
  }
  if (ca && opts.caFile) parseCertificates(ca, opts.caFile, 'CA certificate');

  const options: TlsOptions = {
    cert,
    key,
    // TLS 1.2 is dockerd's floor too.
    minVersion: 'TLSv1.2',
    requestCert: opts.verifyClients,
    rejectUnauthorized: opts.verifyClients,
  };
  // Given a CA, Node trusts only it (dockerd's ExclusiveRootPools).
  if (ca) options.ca = ca;
  // Surfaces anything OpenSSL itself refuses now rather than on the first connection.
  createSecureContext(options);
  return options;
}
