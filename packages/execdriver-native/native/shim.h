/*
 * tsd-shim: the per-container supervisor of @tsdocker/execdriver-native.
 *
 * It is the parent of a container's init (mode `run`) or of an extra process inside a running
 * container (mode `exec`). It creates the process in the right namespaces and cgroups, relays
 * its stdio, and reports lifecycle events as text lines on a control channel (fd 3). The line
 * protocol does not care whether fd 3 is an inherited socketpair or, later, a unix socket.
 * See ../README.md ("Shim protocol") for the wire format.
 */
#ifndef TSD_SHIM_H
#define TSD_SHIM_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TSD_PROTOCOL_VERSION 1
#define TSD_SPEC_VERSION "3"
#define TSD_CONTROL_FD 3

/* ---- spec (spec.c) ----------------------------------------------------------------------- */

enum ns_kind { NS_PID, NS_NET, NS_MNT, NS_IPC, NS_UTS, NS_CGROUP, NS_COUNT };

struct strvec {
  char **v; /* NULL-terminated */
  size_t n, cap;
};

struct ns_entry {
  int present; /* the container has its own namespace of this kind */
  char *path;  /* join this one instead of creating it (NULL: create) */
};

struct mount_entry {
  char *destination, *type, *source;
  struct strvec options;
};

struct device_entry {
  char *path;
  char type; /* 'c', 'b' or 'p' */
  unsigned major, minor;
  unsigned mode; /* permission bits */
  uid_t uid;
  gid_t gid;
};

struct rlimit_entry {
  int resource;                 /* RLIMIT_* number */
  unsigned long long soft, hard; /* RLIM_INFINITY for unlimited */
};

struct sysctl_entry {
  char *key, *value; /* dotted name (net.ipv4.ip_forward) and its value */
};

struct spec {
  char *id;
  /* run mode */
  char *rootfs;
  int readonly_rootfs;
  char *hostname, *domainname;
  struct ns_entry ns[NS_COUNT];
  struct mount_entry *mounts;
  size_t n_mounts;
  struct device_entry *devices;
  size_t n_devices;
  struct strvec masked, readonly_paths;
  /* exec mode */
  pid_t target_pid;
  /* the process */
  struct strvec args, env;
  char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  size_t n_additional_gids;
  int terminal;
  unsigned short rows, cols;
  int open_stdin;
  int has_caps;
  uint64_t caps;
  int no_new_privs;
  /* seccomp: a classic BPF program (struct sock_filter[]) read from the spec's file */
  void *seccomp_prog;
  unsigned short seccomp_len; /* instructions */
  unsigned int seccomp_flags;
  struct rlimit_entry *rlimits;
  size_t n_rlimits;
  struct sysctl_entry *sysctls;
  size_t n_sysctls;
  /* supervision */
  struct strvec cgroup_join; /* files the process writes "0" into to join its cgroups */
  char *oom_events;
  char *exit_file;
};

/* Parses the spec file; on failure writes a message into err and returns -1. */
int spec_load(const char *path, struct spec *spec, char *err, size_t errlen);

/* ---- helpers (util.c) -------------------------------------------------------------------- */

/* strerror with a lower-case first letter, matching Go's errno strings (Docker greps them). */
const char *errstr(int errnum);
int write_all(int fd, const void *buf, size_t len);
/* Creates every missing directory of path (like mkdir -p). */
int mkdir_p(const char *path, mode_t mode);
/* Creates an empty regular file (and its parent directories) unless something exists there. */
int touch_file(const char *path);
/* Resolves `unsafe` inside `root` as if root were "/": symlinks are followed relative to root
 * and ".." never climbs above it. Missing trailing components are kept as they are. */
int secure_join(const char *root, const char *unsafe, char *out, size_t outlen);
int send_fd(int sock, int fd);
int recv_fd(int sock); /* -1 with errno=0 on EOF */
const char *signal_name(int sig, char *buf, size_t len);
/* Reads the `oom_kill N` counter of a memory.oom_control / memory.events file (0 if absent). */
long long read_oom_kill_count(const char *path);

/* ---- child side (child.c, rootfs.c) ------------------------------------------------------ */

/* Everything the process being created needs from the shim, in the child's memory. */
struct child_ctx {
  const struct spec *spec;
  int sync_fd;          /* socket to the shim: "go" byte in, pty master out, ack in */
  int err_fd;           /* CLOEXEC pipe: setup/exec failure message out */
  int stdin_fd;         /* non-terminal: container ends of the stdio pipes */
  int stdout_fd;
  int stderr_fd;
  int host_cgroup2;     /* /sys/fs/cgroup on the host is cgroup2 */
  int host_has_kcore;
};

/* Writes "message" to the error pipe and exits the child. */
__attribute__((noreturn, format(printf, 2, 3))) void child_fail(const struct child_ctx *ctx, const char *fmt, ...);
void child_wait_go(const struct child_ctx *ctx);
void child_join_cgroups(const struct child_ctx *ctx);
/* Mounts, devices, pivot_root (run mode only; before the process's stdio exists). */
void rootfs_prepare(const struct child_ctx *ctx);
/* Masked and read-only paths, read-only root (run mode; after stdio / console). */
void rootfs_finalize(const struct child_ctx *ctx);
/* setsid + terminal or pipes on 0/1/2. */
void child_setup_stdio(const struct child_ctx *ctx, int is_init);
/* PR_SET_DUMPABLE 0: no container process may open our /proc entries before execve. */
void child_make_undumpable(const struct child_ctx *ctx);
/* cwd (checked to be inside the root), rlimits, capabilities, user, fd hygiene, no_new_privs,
 * the seccomp filter and execve with the container's PATH. Never returns. */
__attribute__((noreturn)) void child_become_process(const struct child_ctx *ctx);

/* ---- shim side (supervise.c) ------------------------------------------------------------- */

struct supervised {
  pid_t pid;            /* host pid of the process */
  int sync_fd;          /* shim end of the sync socket */
  int err_fd;           /* read end of the error pipe */
  int in_fd;            /* where container stdin is written (-1: none) */
  int out_fd, err_out_fd; /* where container stdout/stderr are read (-1: none) */
  int sigchld_fd;       /* signalfd for SIGCHLD */
  int is_init;
};

/* Shared stdio/sync plumbing created before the child exists. */
struct plumbing {
  int sync[2];   /* [0] shim, [1] child */
  int errp[2];   /* [0] read (shim), [1] write (child) */
  int in[2];     /* container stdin pipe: [0] child, [1] shim; or {devnull, -1} */
  int out[2];    /* [0] shim, [1] child */
  int errout[2]; /* [0] shim, [1] child */
  int sigchld_fd;
};

int plumbing_create(const struct spec *spec, struct plumbing *p, char *err, size_t errlen);
/* Closes the child's ends in the shim after the child exists. */
void plumbing_close_child_ends(struct plumbing *p);
/* Drives the child from "waiting for go" to "exec'd", then relays until it exits.
 * Returns the shim's exit code. */
int supervise(const struct spec *spec, struct plumbing *p, pid_t pid, int is_init);

/* Control-channel events. */
void control_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- modes -------------------------------------------------------------------------------- */

int mode_run(const struct spec *spec);
int mode_exec(const struct spec *spec);
int mode_probe(void);

#endif
