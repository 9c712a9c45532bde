/**
 * A throw-away PKI for TLS tests, made with openssl at test time (no key is ever committed): a
 * CA with a server certificate for 127.0.0.1/localhost and a client certificate, plus a second,
 * unrelated CA with its own client certificate (a client the server must refuse).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by another CA: must be refused. */
  otherClientCert: string;
  otherClientKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  openssl(
    [
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { cert, key };
}

function makeLeaf(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  extensions: string[],
): { cert: string; key: string } {
  const key = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}-cert.pem`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    `${['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', ...extensions].join('\n')}\n`,
  );
  openssl(['req', ...ecKey, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], dir);
  const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-set_serial',
      serial,
      '-days',
      '2',
      '-out',
      cert,
      '-extfile',
      ext,
    ],
    dir,
  );
  chmodSync(key, 0o600);
  return { cert, key };
}

/** Writes the PKI into `dir` (which the caller removes). */
export function makeTestPki(dir: string): TestPki {
  const ca = makeCa(dir, 'ca');
  const server = makeLeaf(dir, 'server', ca, [
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  const client = makeLeaf(dir, 'client', ca, ['extendedKeyUsage=clientAuth']);
  const otherCa = makeCa(dir, 'other-ca');
  const other = makeLeaf(dir, 'intruder', otherCa, ['extendedKeyUsage=clientAuth']);
  return {
    dir,
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    otherClientCert: other.cert,
    otherClientKey: other.key,
  };
}
