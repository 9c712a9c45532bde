/*
 * Building the container's filesystem view inside its new mount namespace (run mode), in runc's
 * order: spec mounts and device nodes under the rootfs, pivot_root, then (rootfs_finalize)
 * masked paths, read-only paths and a read-only root.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct mount_flag {
  const char *name;
  int clear;
  unsigned long flag;
};

static const struct mount_flag mount_flags[] = {
    {"defaults", 0, 0},          {"ro", 0, MS_RDONLY},          {"rw", 1, MS_RDONLY},
    {"nosuid", 0, MS_NOSUID},    {"suid", 1, MS_NOSUID},        {"nodev", 0, MS_NODEV},
    {"dev", 1, MS_NODEV},        {"noexec", 0, MS_NOEXEC},      {"exec", 1, MS_NOEXEC},
    {"sync", 0, MS_SYNCHRONOUS}, {"async", 1, MS_SYNCHRONOUS},  {"dirsync", 0, MS_DIRSYNC},
    {"remount", 0, MS_REMOUNT},  {"mand", 0, MS_MANDLOCK},      {"nomand", 1, MS_MANDLOCK},
    {"atime", 1, MS_NOATIME},    {"noatime", 0, MS_NOATIME},    {"diratime", 1, MS_NODIRATIME},
    {"nodiratime", 0, MS_NODIRATIME}, {"relatime", 0, MS_RELATIME}, {"norelatime", 1, MS_RELATIME},
    {"strictatime", 0, MS_STRICTATIME}, {"nostrictatime", 1, MS_STRICTATIME},
    {"bind", 0, MS_BIND},        {"rbind", 0, MS_BIND | MS_REC},
};

static const struct mount_flag propagation_flags[] = {
    {"private", 0, MS_PRIVATE},           {"rprivate", 0, MS_PRIVATE | MS_REC},
    {"shared", 0, MS_SHARED},             {"rshared", 0, MS_SHARED | MS_REC},
    {"slave", 0, MS_SLAVE},               {"rslave", 0, MS_SLAVE | MS_REC},
    {"unbindable", 0, MS_UNBINDABLE},     {"runbindable", 0, MS_UNBINDABLE | MS_REC},
};

struct parsed_options {
  unsigned long flags;
  unsigned long propagation[8];
  size_t n_propagation;
  char data[4096]; /* everything that is not a flag, comma-joined, for the filesystem */
};

static int parse_mount_options(const struct strvec *opts, struct parsed_options *out) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < opts->n; i++) {
    const char *o = opts->v[i];
    int known = 0;
    for (size_t f = 0; f < sizeof mount_flags / sizeof mount_flags[0]; f++) {
      if (strcmp(o, mount_flags[f].name) == 0) {
        if (mount_flags[f].clear) out->flags &= ~mount_flags[f].flag;
        else out->flags |= mount_flags[f].flag;
        known = 1;
        break;
      }
    }
    for (size_t f = 0; !known && f < sizeof propagation_flags / sizeof propagation_flags[0]; f++) {
      if (strcmp(o, propagation_flags[f].name) == 0) {
        if (out->n_propagation < 8) out->propagation[out->n_propagation++] = propagation_flags[f].flag;
        known = 1;
      }
    }
    if (known) continue;
    size_t cur = strlen(out->data);
    if (cur + strlen(o) + 2 > sizeof out->data) {
      errno = E2BIG;
      return -1;
    }
    if (cur) strcat(out->data, ",");
    strcat(out->data, o);
  }
  return 0;
}

/* The per-mount flags of an existing mount, so a read-only remount never drops nosuid & co. */
static unsigned long existing_mount_flags(const char *path) {
  struct statvfs sv;
  if (statvfs(path, &sv) < 0) return 0;
  unsigned long flags = 0;
  if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

/* The container's root as a real path: the prefix every mount target must have. */
static char root_real[PATH_MAX];

/*
 * Opens a resolved mount target without following a final symlink and checks, through the
 * fd, that it really lies inside the root (CVE-2021-30465: a path checked once can be swapped
 * for a symlink before mount(2) walks it again). The caller mounts onto /proc/self/fd/<fd>,
 * which names exactly the opened directory or file.
 */
static int open_verified_target(const struct child_ctx *ctx, const char *dest, const char *name, char *fdpath, size_t len) {
  int fd = open(dest, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) child_fail(ctx, "open mount point %s: %s", name, errstr(errno));
  snprintf(fdpath, len, "/proc/self/fd/%d", fd);
  char actual[PATH_MAX];
  ssize_t n = readlink(fdpath, actual, sizeof actual - 1);
  if (n < 0) child_fail(ctx, "read back mount point %s: %s", name, errstr(errno));
  actual[n] = '\0';
  size_t rl = strlen(root_real);
  int inside = strncmp(actual, root_real, rl) == 0 && (actual[rl] == '/' || actual[rl] == '\0');
  if (!inside) child_fail(ctx, "mount point %s resolves to %s, outside the container's root: refusing to mount there", name, actual);
  return fd;
}

static void mount_one(const struct child_ctx *ctx, const struct mount_entry *m) {
  char dest[PATH_MAX], target[64];
  struct parsed_options po;

  if (secure_join(root_real, m->destination, dest, sizeof dest) < 0)
    child_fail(ctx, "resolve mount destination %s: %s", m->destination, errstr(errno));
  if (parse_mount_options(&m->options, &po) < 0)
    child_fail(ctx, "mount options of %s: %s", m->destination, errstr(errno));
  /* /proc or /sys somewhere else than where it is asked for (CVE-2019-19921): refuse. */
  if (strcmp(m->type, "proc") == 0 || strcmp(m->type, "sysfs") == 0) {
    char literal[PATH_MAX];
    snprintf(literal, sizeof literal, "%s%s", root_real, m->destination);
    if (strcmp(literal, dest) != 0)
      child_fail(ctx, "mount destination %s is or passes through a symlink: refusing to mount %s there", m->destination, m->type);
  }

  int fd;
  int is_bind = strcmp(m->type, "bind") == 0 || (po.flags & MS_BIND);
  if (is_bind) {
    struct stat st;
    if (stat(m->source, &st) < 0)
      child_fail(ctx, "mount %s to %s: stat %s: %s", m->source, m->destination, m->source, errstr(errno));
    if ((S_ISDIR(st.st_mode) ? mkdir_p(dest, 0755) : touch_file(dest)) < 0)
      child_fail(ctx, "create mount point %s: %s", m->destination, errstr(errno));
    fd = open_verified_target(ctx, dest, m->destination, target, sizeof target);
    if (mount(m->source, target, NULL, MS_BIND | (po.flags & MS_REC), NULL) < 0)
      child_fail(ctx, "bind mount %s to %s: %s", m->source, m->destination, errstr(errno));
    close(fd);
    /* A bind mount ignores every flag but MS_REC; ro, nosuid… need a remount of it. */
    unsigned long extra = po.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra) {
      fd = open_verified_target(ctx, dest, m->destination, target, sizeof target);
      if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | extra, NULL) < 0)
        child_fail(ctx, "remount %s with its options: %s", m->destination, errstr(errno));
      close(fd);
    }
  } else {
    const char *type = m->type;
    if (strcmp(type, "cgroup") == 0) {
      if (!ctx->host_cgroup2)
        child_fail(ctx, "mount cgroup to %s: cgroup v1 hierarchies are not supported in containers", m->destination);
      type = "cgroup2";
    }
    if (mkdir_p(dest, 0755) < 0) child_fail(ctx, "create mount point %s: %s", m->destination, errstr(errno));
    fd = open_verified_target(ctx, dest, m->destination, target, sizeof target);
    if (mount(m->source, target, type, po.flags, po.data[0] ? po.data : NULL) < 0)
      child_fail(ctx, "mount %s (%s) to %s: %s", m->source, type, m->destination, errstr(errno));
    close(fd);
  }
  for (size_t i = 0; i < po.n_propagation; i++) {
    fd = open_verified_target(ctx, dest, m->destination, target, sizeof target);
    if (mount(NULL, target, NULL, po.propagation[i], NULL) < 0)
      child_fail(ctx, "set propagation of %s: %s", m->destination, errstr(errno));
    close(fd);
  }
}

static void create_device(const struct child_ctx *ctx, const struct device_entry *d) {
  char dest[PATH_MAX];
  if (secure_join(root_real, d->path, dest, sizeof dest) < 0)
    child_fail(ctx, "resolve device path %s: %s", d->path, errstr(errno));
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", dest);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = '\0';
    if (mkdir_p(parent, 0755) < 0) child_fail(ctx, "create directory for device %s: %s", d->path, errstr(errno));
  }
  mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
  if (unlink(dest) < 0 && errno != ENOENT) child_fail(ctx, "replace %s: %s", d->path, errstr(errno));
  if (mknod(dest, type | (d->mode & 07777), makedev(d->major, d->minor)) < 0)
    child_fail(ctx, "mknod %s: %s", d->path, errstr(errno));
  /* mknod honours the umask; the spec's mode is what the container must see. */
  if (chmod(dest, d->mode & 07777) < 0) child_fail(ctx, "chmod %s: %s", d->path, errstr(errno));
  if (chown(dest, d->uid, d->gid) < 0) child_fail(ctx, "chown %s: %s", d->path, errstr(errno));
}

/* runc's default /dev symlinks. */
static void create_dev_symlinks(const struct child_ctx *ctx) {
  static const char *links[][2] = {
      {"/proc/self/fd", "/dev/fd"},     {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"},
      {"/proc/self/fd/2", "/dev/stderr"}, {"pts/ptmx", "/dev/ptmx"},     {"/proc/kcore", "/dev/core"},
  };
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    if (strcmp(links[i][1], "/dev/core") == 0 && !ctx->host_has_kcore) continue;
    char dest[PATH_MAX];
    if (secure_join(root_real, links[i][1], dest, sizeof dest) < 0)
      child_fail(ctx, "resolve %s: %s", links[i][1], errstr(errno));
    if (symlink(links[i][0], dest) < 0 && errno != EEXIST)
      child_fail(ctx, "symlink %s -> %s: %s", links[i][1], links[i][0], errstr(errno));
  }
}

/* runc's pivot_root(".", ".") dance: no need for a directory to park the old root in. */
static void pivot_into(const struct child_ctx *ctx, const char *rootfs) {
  int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0) child_fail(ctx, "open /: %s", errstr(errno));
  int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (newroot < 0) child_fail(ctx, "open rootfs %s: %s", rootfs, errstr(errno));
  if (fchdir(newroot) < 0) child_fail(ctx, "chdir to rootfs: %s", errstr(errno));
  if (syscall(SYS_pivot_root, ".", ".") < 0) child_fail(ctx, "pivot_root %s: %s", rootfs, errstr(errno));
  /* "." is now the old root, stacked on top of the new one. */
  if (fchdir(oldroot) < 0) child_fail(ctx, "chdir to old root: %s", errstr(errno));
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) child_fail(ctx, "make old root rslave: %s", errstr(errno));
  if (umount2(".", MNT_DETACH) < 0) child_fail(ctx, "unmount old root: %s", errstr(errno));
  if (chdir("/") < 0) child_fail(ctx, "chdir /: %s", errstr(errno));
  close(oldroot);
  close(newroot);
}

void rootfs_prepare(const struct child_ctx *ctx) {
  const struct spec *spec = ctx->spec;
  if (!realpath(spec->rootfs, root_real)) child_fail(ctx, "resolve rootfs %s: %s", spec->rootfs, errstr(errno));
  /* Nothing done in here may propagate back to the host. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) child_fail(ctx, "make / rprivate: %s", errstr(errno));
  /* pivot_root needs the new root to be a mount point. */
  if (mount(root_real, root_real, NULL, MS_BIND | MS_REC, NULL) < 0)
    child_fail(ctx, "bind mount rootfs %s: %s", spec->rootfs, errstr(errno));
  for (size_t i = 0; i < spec->n_mounts; i++) mount_one(ctx, &spec->mounts[i]);
  for (size_t i = 0; i < spec->n_devices; i++) create_device(ctx, &spec->devices[i]);
  create_dev_symlinks(ctx);
  pivot_into(ctx, root_real);
}

static void mask_path(const struct child_ctx *ctx, const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) {
    if (errno == ENOENT) return;
    child_fail(ctx, "stat masked path %s: %s", path, errstr(errno));
  }
  int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
                              : mount("/dev/null", path, NULL, MS_BIND, NULL);
  if (r < 0) child_fail(ctx, "mask %s: %s", path, errstr(errno));
}

static void readonly_path(const struct child_ctx *ctx, const char *path) {
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return;
    child_fail(ctx, "bind %s read-only: %s", path, errstr(errno));
  }
  if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | existing_mount_flags(path), NULL) < 0)
    child_fail(ctx, "remount %s read-only: %s", path, errstr(errno));
}

/* Writes /proc/sys/<key with dots as slashes>; the key was checked by spec_load. */
static void write_sysctl(const struct child_ctx *ctx, const struct sysctl_entry *e) {
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "/proc/sys/%s", e->key);
  if (n < 0 || (size_t)n >= sizeof path) child_fail(ctx, "sysctl %s: name too long", e->key);
  for (char *p = path + strlen("/proc/sys/"); *p; p++)
    if (*p == '.') *p = '/';
  int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) child_fail(ctx, "sysctl %s: open %s: %s", e->key, path, errstr(errno));
  if (write_all(fd, e->value, strlen(e->value)) < 0) child_fail(ctx, "sysctl %s=%s: %s", e->key, e->value, errstr(errno));
  close(fd);
}

#define PROC_SUPER_MAGIC 0x9fa0

static int spec_mounts_proc(const struct spec *spec) {
  for (size_t i = 0; i < spec->n_mounts; i++)
    if (strcmp(spec->mounts[i].type, "proc") == 0 && strcmp(spec->mounts[i].destination, "/proc") == 0) return 1;
  return 0;
}

void rootfs_finalize(const struct child_ctx *ctx) {
  const struct spec *spec = ctx->spec;
  /* Masking works through /proc: it must be the procfs we mounted, not something in its place. */
  struct statfs sfs;
  if (spec_mounts_proc(spec) && (statfs("/proc", &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC))
    child_fail(ctx, "/proc is not a procfs after mounting it: refusing to go on");
  for (size_t i = 0; i < spec->n_sysctls; i++) write_sysctl(ctx, &spec->sysctls[i]);
  for (size_t i = 0; i < spec->masked.n; i++) mask_path(ctx, spec->masked.v[i]);
  for (size_t i = 0; i < spec->readonly_paths.n; i++) readonly_path(ctx, spec->readonly_paths.v[i]);
  if (spec->readonly_rootfs &&
      mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | existing_mount_flags("/"), NULL) < 0)
    child_fail(ctx, "remount / read-only: %s", errstr(errno));
}
