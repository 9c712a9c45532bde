/*
 * The spec file: a sequence of NUL-terminated `key=value` records written by the TS driver
 * (src/shim-spec.ts). Repeated keys append in order; `mount.*` and `device.*` keys describe the
 * most recent `mount=` / `device=` record. Values are raw bytes up to the NUL, so paths and
 * environment values may contain '=', newlines or anything else except NUL.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPEC_MAX_BYTES (64 * 1024 * 1024)

static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static void strvec_push(struct strvec *sv, char *s) {
  if (sv->n + 2 > sv->cap) {
    sv->cap = sv->cap ? sv->cap * 2 : 8;
    sv->v = realloc(sv->v, sv->cap * sizeof(char *));
    if (!sv->v) abort();
  }
  sv->v[sv->n++] = s;
  sv->v[sv->n] = NULL;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
  char *end;
  if (*s == '\0' || *s == '-') return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end != '\0' || v > max) return -1;
  *out = v;
  return 0;
}

static int parse_bool(const char *s, int *out) {
  if (strcmp(s, "0") == 0) *out = 0;
  else if (strcmp(s, "1") == 0) *out = 1;
  else return -1;
  return 0;
}

static int ns_kind_from_name(const char *name) {
  static const char *names[NS_COUNT] = {"pid", "net", "mnt", "ipc", "uts", "cgroup"};
  for (int i = 0; i < NS_COUNT; i++)
    if (strcmp(names[i], name) == 0) return i;
  return -1;
}

static int parse_caps(const char *s, uint64_t *out) {
  uint64_t caps = 0;
  const char *p = s;
  while (*p) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(p, &end, 10);
    if (errno || end == p || v > 63 || (*end != ',' && *end != '\0')) return -1;
    caps |= (uint64_t)1 << v;
    p = *end == ',' ? end + 1 : end;
  }
  *out = caps;
  return 0;
}

/* A limit: decimal, or "unlimited". */
static int parse_limit(const char *s, unsigned long long *out) {
  if (strcmp(s, "unlimited") == 0) {
    *out = RLIM_INFINITY;
    return 0;
  }
  return parse_uint(s, RLIM_INFINITY - 1, out);
}

#define SECCOMP_MAX_INSNS 4096

/* Reads the seccomp program now: the file is on the host and the process will not see it
 * once it is inside the container. */
static int load_seccomp(struct spec *spec, const char *path, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fail(err, errlen, "open seccomp program %s: %s", path, errstr(errno));
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 || st.st_size % 8 != 0 ||
      st.st_size > SECCOMP_MAX_INSNS * 8) {
    close(fd);
    return fail(err, errlen, "seccomp program %s: not a filter of 1 to %d instructions", path, SECCOMP_MAX_INSNS);
  }
  char *buf = malloc((size_t)st.st_size);
  if (!buf) abort();
  size_t len = 0;
  while (len < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  close(fd);
  if (len != (size_t)st.st_size) return fail(err, errlen, "seccomp program %s: short read", path);
  spec->seccomp_prog = buf;
  spec->seccomp_len = (unsigned short)(len / 8);
  return 0;
}

static int set_record(struct spec *spec, char *key, char *value, char *err, size_t errlen) {
  unsigned long long n;
#define UINT_FIELD(field, max)                                                             \
  do {                                                                                     \
    if (parse_uint(value, (max), &n) < 0) return fail(err, errlen, "spec: bad %s \"%s\"", key, value); \
    field = n;                                                                             \
  } while (0)
#define BOOL_FIELD(field)                                                                  \
  do {                                                                                     \
    if (parse_bool(value, &(field)) < 0) return fail(err, errlen, "spec: bad %s \"%s\"", key, value); \
  } while (0)

  if (strcmp(key, "version") == 0) {
    if (strcmp(value, TSD_SPEC_VERSION) != 0)
      return fail(err, errlen, "spec: version %s is not supported (this shim reads %s)", value, TSD_SPEC_VERSION);
  } else if (strcmp(key, "id") == 0) spec->id = value;
  else if (strcmp(key, "rootfs") == 0) spec->rootfs = value;
  else if (strcmp(key, "readonly_rootfs") == 0) BOOL_FIELD(spec->readonly_rootfs);
  else if (strcmp(key, "hostname") == 0) spec->hostname = value;
  else if (strcmp(key, "domainname") == 0) spec->domainname = value;
  else if (strncmp(key, "ns.", 3) == 0) {
    int kind = ns_kind_from_name(key + 3);
    if (kind < 0) return fail(err, errlen, "spec: unknown namespace %s", key + 3);
    spec->ns[kind].present = 1;
    spec->ns[kind].path = *value ? value : NULL;
  } else if (strcmp(key, "target_pid") == 0) UINT_FIELD(spec->target_pid, 0x7fffffff);
  else if (strcmp(key, "arg") == 0) strvec_push(&spec->args, value);
  else if (strcmp(key, "env") == 0) strvec_push(&spec->env, value);
  else if (strcmp(key, "cwd") == 0) spec->cwd = value;
  else if (strcmp(key, "uid") == 0) UINT_FIELD(spec->uid, 0xfffffffeULL);
  else if (strcmp(key, "gid") == 0) UINT_FIELD(spec->gid, 0xfffffffeULL);
  else if (strcmp(key, "gid.add") == 0) {
    if (parse_uint(value, 0xfffffffeULL, &n) < 0) return fail(err, errlen, "spec: bad gid.add \"%s\"", value);
    spec->additional_gids = realloc(spec->additional_gids, (spec->n_additional_gids + 1) * sizeof(gid_t));
    if (!spec->additional_gids) abort();
    spec->additional_gids[spec->n_additional_gids++] = n;
  } else if (strcmp(key, "terminal") == 0) BOOL_FIELD(spec->terminal);
  else if (strcmp(key, "rows") == 0) UINT_FIELD(spec->rows, 65535);
  else if (strcmp(key, "cols") == 0) UINT_FIELD(spec->cols, 65535);
  else if (strcmp(key, "open_stdin") == 0) BOOL_FIELD(spec->open_stdin);
  else if (strcmp(key, "caps") == 0) {
    if (parse_caps(value, &spec->caps) < 0) return fail(err, errlen, "spec: bad caps \"%s\"", value);
    spec->has_caps = 1;
  } else if (strcmp(key, "no_new_privs") == 0) BOOL_FIELD(spec->no_new_privs);
  else if (strcmp(key, "seccomp") == 0) {
    if (spec->seccomp_prog) return fail(err, errlen, "spec: seccomp given twice");
    if (load_seccomp(spec, value, err, errlen) < 0) return -1;
  } else if (strcmp(key, "seccomp.flags") == 0) UINT_FIELD(spec->seccomp_flags, 0xff);
  else if (strcmp(key, "rlimit") == 0) {
    if (parse_uint(value, RLIM_NLIMITS - 1, &n) < 0) return fail(err, errlen, "spec: bad rlimit \"%s\"", value);
    spec->rlimits = realloc(spec->rlimits, (spec->n_rlimits + 1) * sizeof(*spec->rlimits));
    if (!spec->rlimits) abort();
    struct rlimit_entry *r = &spec->rlimits[spec->n_rlimits++];
    r->resource = (int)n;
    r->soft = r->hard = RLIM_INFINITY;
  } else if (strcmp(key, "rlimit.soft") == 0 || strcmp(key, "rlimit.hard") == 0) {
    if (spec->n_rlimits == 0) return fail(err, errlen, "spec: %s before any rlimit", key);
    struct rlimit_entry *r = &spec->rlimits[spec->n_rlimits - 1];
    unsigned long long *field = key[7] == 's' ? &r->soft : &r->hard;
    if (parse_limit(value, field) < 0) return fail(err, errlen, "spec: bad %s \"%s\"", key, value);
  } else if (strcmp(key, "sysctl") == 0) {
    /* Dotted names of plain components only: nothing may walk out of /proc/sys. */
    if (!*value || strchr(value, '/') || strstr(value, "..") || value[0] == '.')
      return fail(err, errlen, "spec: bad sysctl name \"%s\"", value);
    spec->sysctls = realloc(spec->sysctls, (spec->n_sysctls + 1) * sizeof(*spec->sysctls));
    if (!spec->sysctls) abort();
    spec->sysctls[spec->n_sysctls].key = value;
    spec->sysctls[spec->n_sysctls++].value = "";
  } else if (strcmp(key, "sysctl.value") == 0) {
    if (spec->n_sysctls == 0) return fail(err, errlen, "spec: %s before any sysctl", key);
    spec->sysctls[spec->n_sysctls - 1].value = value;
  } else if (strcmp(key, "mount") == 0) {
    spec->mounts = realloc(spec->mounts, (spec->n_mounts + 1) * sizeof(*spec->mounts));
    if (!spec->mounts) abort();
    struct mount_entry *m = &spec->mounts[spec->n_mounts++];
    memset(m, 0, sizeof(*m));
    m->destination = value;
  } else if (strncmp(key, "mount.", 6) == 0) {
    if (spec->n_mounts == 0) return fail(err, errlen, "spec: %s before any mount", key);
    struct mount_entry *m = &spec->mounts[spec->n_mounts - 1];
    if (strcmp(key, "mount.type") == 0) m->type = value;
    else if (strcmp(key, "mount.source") == 0) m->source = value;
    else if (strcmp(key, "mount.option") == 0) strvec_push(&m->options, value);
    else return fail(err, errlen, "spec: unknown key %s", key);
  } else if (strcmp(key, "device") == 0) {
    spec->devices = realloc(spec->devices, (spec->n_devices + 1) * sizeof(*spec->devices));
    if (!spec->devices) abort();
    struct device_entry *d = &spec->devices[spec->n_devices++];
    memset(d, 0, sizeof(*d));
    d->path = value;
    d->type = 'c';
    d->mode = 0666;
  } else if (strncmp(key, "device.", 7) == 0) {
    if (spec->n_devices == 0) return fail(err, errlen, "spec: %s before any device", key);
    struct device_entry *d = &spec->devices[spec->n_devices - 1];
    if (strcmp(key, "device.type") == 0) {
      if (strcmp(value, "c") && strcmp(value, "b") && strcmp(value, "p"))
        return fail(err, errlen, "spec: bad device.type \"%s\"", value);
      d->type = value[0];
    } else if (strcmp(key, "device.major") == 0) UINT_FIELD(d->major, 0xfffff);
    else if (strcmp(key, "device.minor") == 0) UINT_FIELD(d->minor, 0xfffff);
    else if (strcmp(key, "device.mode") == 0) UINT_FIELD(d->mode, 07777);
    else if (strcmp(key, "device.uid") == 0) UINT_FIELD(d->uid, 0xfffffffeULL);
    else if (strcmp(key, "device.gid") == 0) UINT_FIELD(d->gid, 0xfffffffeULL);
    else return fail(err, errlen, "spec: unknown key %s", key);
  } else if (strcmp(key, "masked") == 0) strvec_push(&spec->masked, value);
  else if (strcmp(key, "readonly") == 0) strvec_push(&spec->readonly_paths, value);
  else if (strcmp(key, "cgroup.join") == 0) strvec_push(&spec->cgroup_join, value);
  else if (strcmp(key, "oom_events") == 0) spec->oom_events = value;
  else if (strcmp(key, "exit_file") == 0) spec->exit_file = value;
  else return fail(err, errlen, "spec: unknown key %s", key);
  return 0;
#undef UINT_FIELD
#undef BOOL_FIELD
}

int spec_load(const char *path, struct spec *spec, char *err, size_t errlen) {
  memset(spec, 0, sizeof(*spec));
  spec->cwd = "/";
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(err, errlen, "open spec %s: %s", path, errstr(errno));
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size > SPEC_MAX_BYTES) {
    close(fd);
    return fail(err, errlen, "spec %s: unreadable or too large", path);
  }
  /* The records point into this buffer for the life of the process. */
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) abort();
  size_t len = 0;
  while (len < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  close(fd);
  if (len == 0 || buf[len - 1] != '\0') return fail(err, errlen, "spec %s: truncated (records end with NUL)", path);

  int saw_version = 0;
  for (size_t off = 0; off < len;) {
    char *rec = buf + off;
    off += strlen(rec) + 1;
    char *eq = strchr(rec, '=');
    if (!eq) return fail(err, errlen, "spec: record without '=': \"%.40s\"", rec);
    *eq = '\0';
    if (strcmp(rec, "version") == 0) saw_version = 1;
    else if (!saw_version) return fail(err, errlen, "spec: the first record must be version=");
    if (set_record(spec, rec, eq + 1, err, errlen) < 0) return -1;
  }
  if (spec->args.n == 0) return fail(err, errlen, "spec: no arg records");
  if (spec->cwd[0] != '/') return fail(err, errlen, "spec: cwd \"%s\" is not absolute", spec->cwd);
  if (!spec->env.v) {
    spec->env.v = calloc(1, sizeof(char *));
    if (!spec->env.v) abort();
  }
  for (size_t i = 0; i < spec->n_mounts; i++) {
    struct mount_entry *m = &spec->mounts[i];
    if (!m->type || !m->source) return fail(err, errlen, "spec: mount %s lacks type or source", m->destination);
    if (m->destination[0] != '/') return fail(err, errlen, "spec: mount destination \"%s\" is not absolute", m->destination);
  }
  return 0;
}
