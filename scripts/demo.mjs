#!/usr/bin/env node
// The quick start's main job: a tsdocker daemon with a default config on a throwaway data root,
// a busybox image built offline from Debian's busybox-static, one container that prints
// something, `ps -a`, then a clean shutdown. Run through scripts/demo.sh (which sets up first).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'packages/cli/dist/bin.js');
const work = mkdtempSync(join(tmpdir(), 'tsdocker-demo-'));
const socket = join(work, 'tsdocker.sock');
const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };

function step(title) {
  console.log(`\n\u001b[1m== ${title}\u001b[0m`);
}

function tsdocker(args, opts = {}) {
  console.log(`$ tsdocker ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { env, stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`tsdocker ${args[0]} exited with ${r.status}`);
}

function buildBusyboxRootfs() {
  const root = join(work, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev'])
    mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  // Relative links: `busybox --install -s` would point them at this host's path.
  for (const applet of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (applet && applet !== 'busybox') symlinkSync('busybox', join(root, 'bin', applet));
  }
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  const tar = join(work, 'busybox.tar');
  execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', tar, '.']);
  return tar;
}

const config = join(work, 'daemon.json');
writeFileSync(
  config,
  JSON.stringify(
    { 'data-root': join(work, 'data'), 'exec-root': join(work, 'exec'), hosts: [`unix://${socket}`] },
    null,
    2,
  ),
);

step('start the daemon (tsdocker daemon --config-file daemon.json)');
// The daemon's structured log goes to a file, shown only if something fails.
const daemonLog = join(work, 'daemon.log');
const logFd = openSync(daemonLog, 'a');
const daemon = spawn(process.execPath, [cli, 'daemon', '--config-file', config], {
  stdio: ['ignore', logFd, logFd],
});
let failed = false;
try {
  for (let i = 0; i < 200 && !existsSync(socket); i++) {
    if (daemon.exitCode !== null) throw new Error('the daemon exited during start-up');
    await delay(100);
  }
  if (!existsSync(socket)) throw new Error('the daemon did not create its socket');

  step("import a busybox image built from Debian's busybox-static");
  tsdocker(['import', '--change', 'CMD ["sh"]', buildBusyboxRootfs(), 'busybox:latest']);
  tsdocker(['images']);

  step('run a container');
  tsdocker([
    'run',
    '--name',
    'hello',
    'busybox',
    'sh',
    '-c',
    'echo "Hello from a tsdocker container: $(hostname), pid $$, $(ls /sys/class/net | tr "\\n" " ")"',
  ]);

  step('list containers');
  tsdocker(['ps', '-a']);
  tsdocker(['rm', 'hello']);
} catch (err) {
  failed = true;
  console.error(`demo failed: ${err.message}`);
} finally {
  step('stop the daemon (SIGTERM)');
  const exited = new Promise((resolve) => daemon.once('exit', (code, signal) => resolve(code ?? signal)));
  daemon.kill('SIGTERM');
  const code = await exited;
  console.log(`daemon exited with ${code}`);
  if (code !== 0) failed = true;
  if (failed) console.error(`--- daemon log ---\n${readFileSync(daemonLog, 'utf8')}`);
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
