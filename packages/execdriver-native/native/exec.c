/*
 * Mode `exec`: run an extra process inside a running container. The process joins every
 * namespace of the container's init that differs from the shim's, and its cgroups (the shim
 * places it there while it waits, before it does anything, so the shim itself stays outside
 * the container's cgroup: it is neither frozen by pause nor listed by top).
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Join order: mnt last, since the others are opened through the host's /proc. */
static const struct {
  const char *name;
  int flag;
} exec_ns[] = {
    {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS},
};
#define N_EXEC_NS (sizeof exec_ns / sizeof exec_ns[0])

/* Opens the target's namespace unless the shim is already in it (e.g. a host network). */
static int open_target_ns(pid_t target, const char *name, int *out) {
  char path[64], self[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)target, name);
  snprintf(self, sizeof self, "/proc/self/ns/%s", name);
  struct stat a, b;
  *out = -1;
  if (stat(path, &a) < 0) {
    if (errno == ENOENT && strcmp(name, "cgroup") == 0) return 0; /* kernel without cgroup ns */
    return -1;
  }
  if (stat(self, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) return 0;
  *out = open(path, O_RDONLY | O_CLOEXEC);
  return *out < 0 ? -1 : 0;
}

int mode_exec(const struct spec *spec) {
  char err[512];
  if (spec->target_pid <= 0) {
    control_event("error spec: exec needs target_pid");
    return 1;
  }
  int ns_fd[N_EXEC_NS];
  for (size_t i = 0; i < N_EXEC_NS; i++) {
    if (open_target_ns(spec->target_pid, exec_ns[i].name, &ns_fd[i]) < 0) {
      if (errno == ENOENT || errno == ESRCH) control_event("error container is not running (process %d is gone)", (int)spec->target_pid);
      else control_event("error open %s namespace of process %d: %s", exec_ns[i].name, (int)spec->target_pid, errstr(errno));
      return 1;
    }
  }

  struct plumbing p;
  if (plumbing_create(spec, &p, err, sizeof err) < 0) {
    control_event("error %s", err);
    return 1;
  }
  /* Joining a pid namespace only affects children: the shim joins, the process is born in it. */
  for (size_t i = 0; i < N_EXEC_NS; i++) {
    if (exec_ns[i].flag != CLONE_NEWPID || ns_fd[i] < 0) continue;
    if (setns(ns_fd[i], CLONE_NEWPID) < 0) {
      control_event("error join pid namespace of process %d: %s", (int)spec->target_pid, errstr(errno));
      return 1;
    }
    close(ns_fd[i]);
    ns_fd[i] = -1;
  }

  struct child_ctx ctx = {
      .spec = spec,
      .sync_fd = p.sync[1],
      .err_fd = p.errp[1],
      .stdin_fd = p.in[1],
      .stdout_fd = p.out[1],
      .stderr_fd = p.errout[1],
  };
  pid_t pid = fork();
  if (pid < 0) {
    /* fork into a pid namespace whose init is gone fails with ENOMEM */
    control_event("error create process in the container: %s", errno == ENOMEM ? "container is not running" : errstr(errno));
    return 1;
  }
  if (pid == 0) {
    child_make_undumpable(&ctx);
    child_wait_go(&ctx);
    /* Before the container's mount namespace hides the host's cgroup paths. */
    child_join_cgroups(&ctx);
    for (size_t i = 0; i < N_EXEC_NS; i++) {
      if (ns_fd[i] < 0) continue;
      if (setns(ns_fd[i], exec_ns[i].flag) < 0)
        child_fail(&ctx, "join %s namespace of process %d: %s", exec_ns[i].name, (int)spec->target_pid, errstr(errno));
      close(ns_fd[i]);
    }
    /* Joining the mount namespace put us at its root, which is the container's root. */
    if (chdir("/") < 0) child_fail(&ctx, "chdir /: %s", errstr(errno));
    child_setup_stdio(&ctx, 0);
    child_become_process(&ctx);
  }
  for (size_t i = 0; i < N_EXEC_NS; i++)
    if (ns_fd[i] >= 0) close(ns_fd[i]);
  plumbing_close_child_ends(&p);
  return supervise(spec, &p, pid, 0);
}
