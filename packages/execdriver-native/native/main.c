/*
 * tsd-shim entry point.
 *
 *   tsd-shim run <spec-file>    start a container's init and supervise it
 *   tsd-shim exec <spec-file>   start a process in a running container and supervise it
 *   tsd-shim probe              check that namespaces can be created here (prints "ok")
 *   tsd-shim version            print the protocol and spec versions
 *
 * For run/exec: fd 0/1/2 are the process's stdio as seen by the daemon, fd 3 the control channel.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int usage(void) {
  fprintf(stderr, "usage: tsd-shim run|exec <spec-file>\n       tsd-shim probe|version\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "version") == 0) {
    printf("tsd-shim protocol %d spec %s\n", TSD_PROTOCOL_VERSION, TSD_SPEC_VERSION);
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "probe") == 0) return mode_probe();
  if (argc != 3 || (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "exec") != 0)) return usage();

  int flags = fcntl(TSD_CONTROL_FD, F_GETFD);
  if (flags < 0) {
    fprintf(stderr, "tsd-shim: fd %d must be the control channel\n", TSD_CONTROL_FD);
    return 2;
  }
  fcntl(TSD_CONTROL_FD, F_SETFD, flags | FD_CLOEXEC);
  /* A vanished reader must surface as EPIPE, not kill the shim (and orphan the container). */
  signal(SIGPIPE, SIG_IGN);
  /* Do not pin whatever directory the daemon was started from. */
  if (chdir("/") < 0) return 1;

  struct spec spec;
  char err[512];
  if (spec_load(argv[2], &spec, err, sizeof err) < 0) {
    control_event("error %s", err);
    return 1;
  }
  return strcmp(argv[1], "run") == 0 ? mode_run(&spec) : mode_exec(&spec);
}
