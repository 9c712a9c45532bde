/*
 * Mode `run`: create a container's init with clone() in fresh namespaces (or joined ones where
 * the spec gives a path), let the shim put it into its cgroups, then build its root and exec.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define CGROUP2_SUPER_MAGIC 0x63677270
#define INIT_STACK_SIZE (1024 * 1024)

struct init_args {
  struct child_ctx ctx;
  int join_fd[NS_COUNT]; /* namespaces joined by path (-1: none) */
};

static const int ns_clone_flag[NS_COUNT] = {
    [NS_PID] = CLONE_NEWPID, [NS_NET] = CLONE_NEWNET, [NS_MNT] = CLONE_NEWNS,
    [NS_IPC] = CLONE_NEWIPC, [NS_UTS] = CLONE_NEWUTS, [NS_CGROUP] = CLONE_NEWCGROUP,
};
static const char *ns_name[NS_COUNT] = {"pid", "network", "mount", "ipc", "uts", "cgroup"};

static void loopback_up(const struct child_ctx *ctx) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) child_fail(ctx, "socket for loopback: %s", errstr(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) child_fail(ctx, "read flags of lo: %s", errstr(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) child_fail(ctx, "bring lo up: %s", errstr(errno));
  close(s);
}

static int init_main(void *arg) {
  struct init_args *a = arg;
  const struct child_ctx *ctx = &a->ctx;
  const struct spec *spec = ctx->spec;

  child_make_undumpable(ctx);
  child_wait_go(ctx);
  /* Before any namespace is joined: the host's cgroup paths are still the ones in the spec. */
  child_join_cgroups(ctx);

  for (int k = 0; k < NS_COUNT; k++) {
    if (a->join_fd[k] < 0) continue;
    if (setns(a->join_fd[k], ns_clone_flag[k]) < 0)
      child_fail(ctx, "join %s namespace %s: %s", ns_name[k], spec->ns[k].path, errstr(errno));
    close(a->join_fd[k]);
  }
  /* A new cgroup namespace is made after joining the cgroups, so they are its root. */
  if (spec->ns[NS_CGROUP].present && !spec->ns[NS_CGROUP].path && unshare(CLONE_NEWCGROUP) < 0)
    child_fail(ctx, "create cgroup namespace: %s", errstr(errno));
  if (spec->ns[NS_NET].present && !spec->ns[NS_NET].path) loopback_up(ctx);
  /* Only a namespace of its own may be renamed: never the host's. */
  if (spec->ns[NS_UTS].present && !spec->ns[NS_UTS].path) {
    if (spec->hostname && *spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
      child_fail(ctx, "sethostname: %s", errstr(errno));
    if (spec->domainname && *spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
      child_fail(ctx, "setdomainname: %s", errstr(errno));
  }

  rootfs_prepare(ctx);
  child_setup_stdio(ctx, 1);
  rootfs_finalize(ctx);
  child_become_process(ctx);
}

int mode_run(const struct spec *spec) {
  char err[512];
  if (!spec->rootfs || spec->rootfs[0] != '/') {
    control_event("error spec: rootfs must be an absolute path");
    return 1;
  }
  /* Mounting into the host's namespace would change the host: refuse it. */
  if (!spec->ns[NS_MNT].present || spec->ns[NS_MNT].path) {
    control_event("error a container needs a mount namespace of its own");
    return 1;
  }

  struct plumbing p;
  if (plumbing_create(spec, &p, err, sizeof err) < 0) {
    control_event("error %s", err);
    return 1;
  }

  struct init_args args;
  memset(&args, 0, sizeof args);
  int clone_flags = SIGCHLD;
  for (int k = 0; k < NS_COUNT; k++) {
    args.join_fd[k] = -1;
    if (!spec->ns[k].present) continue;
    if (!spec->ns[k].path) {
      if (k != NS_CGROUP) clone_flags |= ns_clone_flag[k];
      continue;
    }
    int fd = open(spec->ns[k].path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      control_event("error open %s namespace %s: %s", ns_name[k], spec->ns[k].path, errstr(errno));
      return 1;
    }
    if (k == NS_PID) {
      /* Joining a pid namespace only affects children: the shim joins, the init is born in it. */
      if (setns(fd, CLONE_NEWPID) < 0) {
        control_event("error join pid namespace %s: %s", spec->ns[k].path, errstr(errno));
        return 1;
      }
      close(fd);
    } else {
      args.join_fd[k] = fd;
    }
  }

  struct statfs sfs;
  args.ctx = (struct child_ctx){
      .spec = spec,
      .sync_fd = p.sync[1],
      .err_fd = p.errp[1],
      .stdin_fd = p.in[1],
      .stdout_fd = p.out[1],
      .stderr_fd = p.errout[1],
      .host_cgroup2 = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC,
      .host_has_kcore = access("/proc/kcore", F_OK) == 0,
  };

  char *stack = mmap(NULL, INIT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    control_event("error allocate init stack: %s", errstr(errno));
    return 1;
  }
  pid_t pid = clone(init_main, stack + INIT_STACK_SIZE, clone_flags, &args);
  if (pid < 0) {
    control_event("error create container init (clone): %s", errstr(errno));
    return 1;
  }
  for (int k = 0; k < NS_COUNT; k++)
    if (args.join_fd[k] >= 0) close(args.join_fd[k]);
  plumbing_close_child_ends(&p);
  return supervise(spec, &p, pid, 1);
}

static int probe_child(void *arg) {
  (void)arg;
  return 0;
}

/* Proves this machine lets us create every namespace a container needs. */
int mode_probe(void) {
  char *stack = mmap(NULL, INIT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    printf("error mmap: %s\n", errstr(errno));
    return 1;
  }
  int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD;
  pid_t pid = clone(probe_child, stack + INIT_STACK_SIZE, flags, NULL);
  if (pid < 0) {
    printf("error cannot create namespaces (clone): %s\n", errstr(errno));
    return 1;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  printf("ok\n");
  return 0;
}
