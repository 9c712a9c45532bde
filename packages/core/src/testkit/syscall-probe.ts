/**
 * A tiny static test program that tries syscalls a container's confinement must refuse and
 * prints what the kernel answered (`keyctl: EPERM`, `mount: ok`). busybox has no applet for most
 * of them (keyctl, io_uring_setup, clone3, AF_ALG sockets), so tests build this with the host's C
 * compiler (`cc -static`, from gcc and libc6-dev) and copy it into a container's rootfs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SOURCE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void report(const char *name, long r) {
  if (r < 0) printf("%s: %s\n", name, strerrorname_np(errno));
  else printf("%s: ok\n", name);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 1; i < argc; i++) {
    const char *t = argv[i];
    errno = 0;
    if (!strcmp(t, "keyctl")) report(t, syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0));
    else if (!strcmp(t, "io_uring_setup")) {
      char params[120];
      memset(params, 0, sizeof params);
      report(t, syscall(SYS_io_uring_setup, 1, params));
    } else if (!strcmp(t, "unshare-user")) report(t, unshare(CLONE_NEWUSER));
    else if (!strcmp(t, "unshare-mount")) report(t, unshare(CLONE_NEWNS));
    else if (!strcmp(t, "mount")) {
      mkdir("/tmp/probe-mnt", 0755);
      report(t, mount("none", "/tmp/probe-mnt", "tmpfs", 0, NULL));
    } else if (!strcmp(t, "clone3")) report(t, syscall(SYS_clone3, NULL, 0));
    else if (!strcmp(t, "bpf")) report(t, syscall(SYS_bpf, 0, NULL, 0));
    else if (!strcmp(t, "personality")) report(t, personality(0x0040000 /* ADDR_NO_RANDOMIZE */));
    else if (!strcmp(t, "socket-alg")) report(t, socket(38 /* AF_ALG */, SOCK_SEQPACKET, 0));
    else if (!strcmp(t, "socket-vsock")) report(t, socket(40 /* AF_VSOCK */, SOCK_STREAM, 0));
    else if (!strcmp(t, "socket-inet")) report(t, socket(AF_INET, SOCK_STREAM, 0));
    else if (!strcmp(t, "mknod-block")) {
      unlink("/tmp/probe-sda");
      report(t, mknod("/tmp/probe-sda", S_IFBLK | 0600, makedev(8, 0)));
    } else if (!strcmp(t, "open-block")) report(t, open("/tmp/probe-sda", O_RDONLY));
    else if (!strcmp(t, "chroot")) report(t, chroot("/"));
    else if (!strcmp(t, "euid")) printf("euid: %d\n", (int)geteuid());
    else printf("%s: unknown test\n", t);
  }
  return 0;
}
`;

/** Compiles the probe to `output` (a static x86_64 executable). Fails loudly without a compiler. */
export async function buildSyscallProbe(output: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsd-probe-src-'));
  try {
    const src = join(dir, 'probe.c');
    await writeFile(src, SOURCE);
    const cc = process.env.CC || 'cc';
    try {
      await promisify(execFile)(cc, ['-static', '-O1', '-o', output, src]);
    } catch (err) {
      throw new Error(
        `buildSyscallProbe: "${cc} -static" failed (${(err as Error).message.trim()}); install gcc and libc6-dev`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
