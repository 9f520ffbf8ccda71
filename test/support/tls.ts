// A throwaway PKI for TLS tests (needs the openssl command; Node cannot sign a certificate itself).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Makes a CA and a server certificate for 127.0.0.1 and localhost (EC P-256, valid 1 day). */
export function makeTestPki(dir: string): { ca: string; cert: string; key: string } {
  const p = (name: string): string => join(dir, name);
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', p('ca.key')]);
  run([
    'req', '-x509', '-new', '-key', p('ca.key'), '-out', p('ca.crt'), '-days', '1', '-subj', '/CN=rpcx-node test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', p('server.key')]);
  run(['req', '-new', '-key', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  run(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.crt'), '-days', '1', '-extfile', p('ext.cnf')]);
  return { ca: p('ca.crt'), cert: p('server.crt'), key: p('server.key') };
}
