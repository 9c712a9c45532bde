/*
 * The process-side half shared by `run` and `exec`: waiting for the shim, stdio (pipes or a pty
 * allocated inside the container's devpts), and the final steps before execve — cwd,
 * capabilities, user, fd hygiene, PATH lookup with the container's environment. Failures go to
 * the shim over the CLOEXEC error pipe, worded like runc's so Docker maps them to 126/127.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

void child_fail(const struct child_ctx *ctx, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
  write_all(ctx->err_fd, msg, (size_t)n);
  _exit(1);
}

void child_wait_go(const struct child_ctx *ctx) {
  char go;
  ssize_t r;
  do r = read(ctx->sync_fd, &go, 1);
  while (r < 0 && errno == EINTR);
  /* EOF: the shim gave up on us (it already reported why). */
  if (r != 1) _exit(1);
}

/*
 * The process joins its cgroups itself, writing "0" (the caller) into each file: on v1 these are
 * `tasks` files, which move the calling thread alone and skip the global threadgroup lock that
 * a `cgroup.procs` write takes (waiting out an RCU grace period: 5-20 ms per start). The
 * process is single-threaded here, so the thread is the whole process, and everything it
 * starts later is born in these cgroups. On v2 they are `cgroup.procs` files.
 */
void child_join_cgroups(const struct child_ctx *ctx) {
  const struct strvec *files = &ctx->spec->cgroup_join;
  for (size_t i = 0; i < files->n; i++) {
    int fd = open(files->v[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_all(fd, "0", 1) < 0) child_fail(ctx, "join cgroup %s: %s", files->v[i], errstr(errno));
    close(fd);
  }
}

/* runc's fixStdioPermissions: the user must be able to reopen its stdio via /dev/stdout. */
static void give_stdio_to_user(const struct child_ctx *ctx) {
  const struct spec *spec = ctx->spec;
  for (int fd = 0; fd <= 2; fd++) {
    struct stat st;
    if (fstat(fd, &st) < 0) child_fail(ctx, "fstat fd %d: %s", fd, errstr(errno));
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) continue; /* /dev/null */
    if (st.st_uid == spec->uid) continue;
    if (fchown(fd, spec->uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM)
      child_fail(ctx, "chown stdio fd %d: %s", fd, errstr(errno));
  }
}

static void setup_terminal(const struct child_ctx *ctx, int is_init) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) child_fail(ctx, "open /dev/ptmx: %s", errstr(errno));
  if (unlockpt(master) < 0) child_fail(ctx, "unlockpt: %s", errstr(errno));
  char slave_path[PATH_MAX];
  if (ptsname_r(master, slave_path, sizeof slave_path) != 0) child_fail(ctx, "ptsname: %s", errstr(errno));
  int slave = open(slave_path, O_RDWR | O_NOCTTY);
  if (slave < 0) child_fail(ctx, "open %s: %s", slave_path, errstr(errno));
  /* The shim relays the master; wait until it has set the window size before going on. */
  if (send_fd(ctx->sync_fd, master) < 0) child_fail(ctx, "send terminal to shim: %s", errstr(errno));
  close(master);
  child_wait_go(ctx);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) child_fail(ctx, "set controlling terminal: %s", errstr(errno));
  if (is_init) {
    /* runc: /dev/console is the container's terminal. */
    if (touch_file("/dev/console") < 0) child_fail(ctx, "create /dev/console: %s", errstr(errno));
    if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
      child_fail(ctx, "bind %s to /dev/console: %s", slave_path, errstr(errno));
  }
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0) child_fail(ctx, "dup terminal: %s", errstr(errno));
  if (slave > 2) close(slave);
}

void child_setup_stdio(const struct child_ctx *ctx, int is_init) {
  if (setsid() < 0) child_fail(ctx, "setsid: %s", errstr(errno));
  if (ctx->spec->terminal) {
    setup_terminal(ctx, is_init);
  } else {
    if (dup2(ctx->stdin_fd, 0) < 0 || dup2(ctx->stdout_fd, 1) < 0 || dup2(ctx->stderr_fd, 2) < 0)
      child_fail(ctx, "dup stdio: %s", errstr(errno));
  }
}

static int last_cap(void) {
  int last = CAP_LAST_CAP;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  if (f) {
    if (fscanf(f, "%d", &last) != 1) last = CAP_LAST_CAP;
    fclose(f);
  }
  return last;
}

static void drop_bounding_set(const struct child_ctx *ctx, int last) {
  for (int cap = 0; cap <= last && cap < 64; cap++) {
    if (ctx->spec->caps & ((uint64_t)1 << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      child_fail(ctx, "drop capability %d from the bounding set: %s", cap, errstr(errno));
  }
}

/* Effective = permitted = caps, inheritable and ambient empty (as Docker since
 * CVE-2022-24769). After execve a non-root user keeps none of them, root keeps the set. */
static void set_capabilities(const struct child_ctx *ctx, uint64_t caps, int clear_ambient) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = (uint32_t)caps;
  data[1].effective = data[1].permitted = (uint32_t)(caps >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) {
    int saved = errno;
    /* Say which ones: a capability the shim itself never had cannot be given. */
    struct __user_cap_data_struct own[2];
    memset(own, 0, sizeof own);
    if (saved == EPERM && syscall(SYS_capget, &hdr, own) == 0) {
      uint64_t have = own[0].permitted | ((uint64_t)own[1].permitted << 32);
      for (int cap = 0; cap < 64; cap++)
        if ((caps & ((uint64_t)1 << cap)) && !(have & ((uint64_t)1 << cap)))
          child_fail(ctx, "set capabilities: capability %d is not held by the daemon, so a container cannot be given it", cap);
    }
    child_fail(ctx, "set capabilities: %s", errstr(saved));
  }
  if (clear_ambient && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    child_fail(ctx, "clear ambient capabilities: %s", errstr(errno));
}

/* Resource limits before dropping privileges (lowering needs none; raising a hard limit needs
 * CAP_SYS_RESOURCE, which the daemon side already refused to ask for beyond its own). */
static void set_rlimits(const struct child_ctx *ctx) {
  for (size_t i = 0; i < ctx->spec->n_rlimits; i++) {
    const struct rlimit_entry *r = &ctx->spec->rlimits[i];
    struct rlimit lim = {.rlim_cur = r->soft, .rlim_max = r->hard};
    if (setrlimit(r->resource, &lim) < 0)
      child_fail(ctx, "setrlimit %d (soft %llu, hard %llu): %s", r->resource, r->soft, r->hard, errstr(errno));
  }
}

/* CVE-2024-21626: a cwd reached through a leaked host fd (/proc/self/fd/N) lies outside the
 * container's root, and getcwd then fails or does not return an absolute path. */
static void check_cwd_inside_root(const struct child_ctx *ctx) {
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd) || cwd[0] != '/')
    child_fail(ctx, "current working directory is outside of container mount namespace root -- possible container breakout detected");
}

static void install_seccomp(const struct child_ctx *ctx) {
  const struct spec *spec = ctx->spec;
  struct sock_fprog prog = {.len = spec->seccomp_len, .filter = spec->seccomp_prog};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, spec->seccomp_flags, &prog) < 0)
    child_fail(ctx, "install the seccomp filter: %s", errstr(errno));
}

static void switch_user(const struct child_ctx *ctx) {
  const struct spec *spec = ctx->spec;
  if (setgroups(spec->n_additional_gids, spec->additional_gids) < 0)
    child_fail(ctx, "setgroups: %s", errstr(errno));
  if (setresgid(spec->gid, spec->gid, spec->gid) < 0) child_fail(ctx, "setgid %u: %s", spec->gid, errstr(errno));
  if (setresuid(spec->uid, spec->uid, spec->uid) < 0) child_fail(ctx, "setuid %u: %s", spec->uid, errstr(errno));
}

static const char *env_lookup(char *const *env, const char *name) {
  size_t len = strlen(name);
  const char *found = NULL;
  /* The last definition wins, as when runc sets the variables one by one. */
  for (; *env; env++)
    if (strncmp(*env, name, len) == 0 && (*env)[len] == '=') found = *env + len + 1;
  return found;
}

/* Go's exec.findExecutable: a directory is EISDIR, a file without x for us is EACCES. */
static int check_executable(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) return -1;
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return -1;
  }
  if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0) return -1;
  return 0;
}

/* Go's exec.LookPath against the container's PATH; errors worded like runc's. */
static void look_path(const struct child_ctx *ctx, const char *file, char *out, size_t outlen) {
  if (strchr(file, '/')) {
    if (check_executable(file) < 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        child_fail(ctx, "exec: \"%s\": stat %s: %s", file, file, errstr(errno));
      child_fail(ctx, "exec: \"%s\": %s", file, errstr(errno));
    }
    snprintf(out, outlen, "%s", file);
    return;
  }
  if (*file) {
    const char *path = env_lookup(ctx->spec->env.v, "PATH");
    if (!path) path = "";
    for (const char *p = path;;) {
      size_t len = strcspn(p, ":");
      int n = len == 0 ? snprintf(out, outlen, "./%s", file) : snprintf(out, outlen, "%.*s/%s", (int)len, p, file);
      if (n > 0 && (size_t)n < outlen && check_executable(out) == 0) return;
      if (p[len] == '\0') break;
      p += len + 1;
    }
  }
  child_fail(ctx, "exec: \"%s\": executable file not found in $PATH", file);
}

/* Every fd above 2 closes at execve; the error pipe stays usable until then. */
static void cloexec_all_fds(const struct child_ctx *ctx) {
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  for (int fd = 3; fd < 65536; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
      child_fail(ctx, "mark fd %d close-on-exec: %s", fd, errstr(errno));
  }
}

void child_make_undumpable(const struct child_ctx *ctx) {
  /* Until execve replaces it, this process is the shim binary with the shim's memory: a
   * container process must not open /proc/<pid>/exe or mem (CVE-2019-5736). execve resets it. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) child_fail(ctx, "set non-dumpable: %s", errstr(errno));
}

#define CAP_SYS_ADMIN_BIT ((uint64_t)1 << CAP_SYS_ADMIN)

void child_become_process(const struct child_ctx *ctx) {
  const struct spec *spec = ctx->spec;

  /* The cwd is created and entered as root, so a user may start in a directory it could not
   * create; it keeps the directory after dropping privileges. */
  if (mkdir_p(spec->cwd, 0755) < 0) child_fail(ctx, "mkdir %s: %s", spec->cwd, errstr(errno));
  if (chdir(spec->cwd) < 0) child_fail(ctx, "chdir to cwd (\"%s\"): %s", spec->cwd, errstr(errno));
  check_cwd_inside_root(ctx);

  give_stdio_to_user(ctx);
  cloexec_all_fds(ctx);
  set_rlimits(ctx);

  /* Installing a filter needs CAP_SYS_ADMIN or no_new_privs. Without no_new_privs, keep
   * CAP_SYS_ADMIN in the effective set just long enough to install it, as the last step. */
  int seccomp = spec->seccomp_prog != NULL;
  uint64_t caps = spec->has_caps ? spec->caps : 0;
  int borrow_admin = seccomp && !spec->no_new_privs && spec->has_caps && !(caps & CAP_SYS_ADMIN_BIT);

  int last = last_cap();
  if (spec->has_caps) drop_bounding_set(ctx, last);
  /* Keep the permitted set across setuid so the spec's capabilities can be set after it. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) child_fail(ctx, "keep capabilities: %s", errstr(errno));
  switch_user(ctx);
  if (spec->has_caps) set_capabilities(ctx, borrow_admin ? caps | CAP_SYS_ADMIN_BIT : caps, 1);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) child_fail(ctx, "reset keep-capabilities: %s", errstr(errno));

  /* The shim blocks SIGCHLD and ignores SIGPIPE; a fresh process expects neither. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  umask(022);

  char path[PATH_MAX];
  look_path(ctx, spec->args.v[0], path, sizeof path);

  if (spec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail(ctx, "set no_new_privs: %s", errstr(errno));
  if (seccomp) {
    install_seccomp(ctx);
    /* From here on every syscall goes through the filter: only capset and execve remain. */
    if (borrow_admin) set_capabilities(ctx, caps, 0);
  }
  execve(path, spec->args.v, spec->env.v);
  child_fail(ctx, "exec %s: %s", path, errstr(errno));
}
