/*
 * tsd-mount: the overlay driver's mount helper. The daemon starts one and keeps it; each overlay
 * mount or unmount is then a round trip on a pipe instead of a fork and exec of util-linux
 * mount/umount (tens of milliseconds each on a busy host, several per container run).
 *
 * Requests on stdin, answered in order on stdout. Fields end with a NUL byte:
 *   M <cwd> <target> <data>   mount("overlay", target, "overlay", 0, data) with relative paths in
 *                             data resolved from cwd (moby's mountFrom does the same chdir)
 *   U <target>                umount2(target, 0)
 *   L <target>                umount2(target, MNT_DETACH)
 *   V                         the protocol version (answers "ok tsd-mount 1")
 * Answers are one line: "ok" or "err <errno> <message>". EOF on stdin ends the helper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define PROTOCOL "tsd-mount 1"

static char *field(void) {
  static char *bufs[4];
  static size_t sizes[4];
  static int next;
  int i = next;
  next = (next + 1) % 4;
  ssize_t n = getdelim(&bufs[i], &sizes[i], '\0', stdin);
  if (n <= 0 || bufs[i][n - 1] != '\0') return NULL;
  return bufs[i];
}

static void answer(int err) {
  if (err == 0)
    fputs("ok\n", stdout);
  else
    fprintf(stdout, "err %d %s\n", err, strerror(err));
  fflush(stdout);
}

int main(void) {
  /* A daemon that went away must end us through EOF, not a signal meant for its group. */
  signal(SIGPIPE, SIG_IGN);
  if (chdir("/") < 0) return 1;
  for (;;) {
    char *op = field();
    if (op == NULL) return 0;
    if (strcmp(op, "M") == 0) {
      char *cwd = field(), *target = field(), *data = field();
      if (cwd == NULL || target == NULL || data == NULL) return 2;
      int err = 0;
      if (chdir(cwd) < 0)
        err = errno;
      else if (mount("overlay", target, "overlay", 0, data) < 0)
        err = errno;
      if (chdir("/") < 0 && err == 0) err = errno;
      answer(err);
    } else if (strcmp(op, "U") == 0 || strcmp(op, "L") == 0) {
      char *target = field();
      if (target == NULL) return 2;
      answer(umount2(target, op[0] == 'L' ? MNT_DETACH : 0) < 0 ? errno : 0);
    } else if (strcmp(op, "V") == 0) {
      fputs("ok " PROTOCOL "\n", stdout);
      fflush(stdout);
    } else {
      return 2;
    }
  }
}
