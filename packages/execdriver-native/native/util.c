/* Small helpers shared by the shim and the child: errors, I/O, paths, fd passing, signals. */
#include "shim.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

const char *errstr(int errnum) {
  static char buf[128];
  snprintf(buf, sizeof buf, "%s", strerror(errnum));
  buf[0] = (char)tolower((unsigned char)buf[0]);
  return buf;
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int mkdir_p(const char *path, mode_t mode) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char saved = *p;
      *p = '\0';
      if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
      *p = saved;
      if (saved == '\0') break;
    }
  }
  struct stat st;
  if (stat(path, &st) < 0) return -1;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  return 0;
}

int touch_file(const char *path) {
  struct stat st;
  if (lstat(path, &st) == 0) return 0;
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", path);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = '\0';
    if (mkdir_p(parent, 0755) < 0) return -1;
  }
  int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

/* Appends "/comp" to a root-relative path held in buf. */
static int path_append(char *buf, size_t len, const char *comp, size_t complen) {
  size_t cur = strlen(buf);
  if (cur + 1 + complen + 1 > len) {
    errno = ENAMETOOLONG;
    return -1;
  }
  buf[cur] = '/';
  memcpy(buf + cur + 1, comp, complen);
  buf[cur + 1 + complen] = '\0';
  return 0;
}

int secure_join(const char *root, const char *unsafe, char *out, size_t outlen) {
  char resolved[PATH_MAX] = ""; /* relative to root: "" or "/a/b" */
  char pending[2 * PATH_MAX];   /* what is left to walk */
  char full[PATH_MAX], link[PATH_MAX];
  int links = 0;

  if (snprintf(pending, sizeof pending, "%s", unsafe) >= (int)sizeof pending) {
    errno = ENAMETOOLONG;
    return -1;
  }
  size_t pos = 0;
  while (pending[pos]) {
    while (pending[pos] == '/') pos++;
    if (!pending[pos]) break;
    const char *comp = pending + pos;
    size_t complen = strcspn(comp, "/");
    pos += complen;
    if (complen == 1 && comp[0] == '.') continue;
    if (complen == 2 && comp[0] == '.' && comp[1] == '.') {
      char *slash = strrchr(resolved, '/');
      if (slash) *slash = '\0';
      continue;
    }
    char candidate[PATH_MAX];
    snprintf(candidate, sizeof candidate, "%s", resolved);
    if (path_append(candidate, sizeof candidate, comp, complen) < 0) return -1;
    if (snprintf(full, sizeof full, "%s%s", root, candidate) >= (int)sizeof full) {
      errno = ENAMETOOLONG;
      return -1;
    }
    struct stat st;
    if (lstat(full, &st) < 0 || !S_ISLNK(st.st_mode)) {
      /* Missing or not a link: take it as is (missing parts get created later). */
      snprintf(resolved, sizeof resolved, "%s", candidate);
      continue;
    }
    if (++links > 255) {
      errno = ELOOP;
      return -1;
    }
    ssize_t n = readlink(full, link, sizeof link - 1);
    if (n < 0) return -1;
    link[n] = '\0';
    /* Walk the link target next, then the rest of the original path. */
    char rest[2 * PATH_MAX];
    snprintf(rest, sizeof rest, "%s", pending + pos);
    if (snprintf(pending, sizeof pending, "%s/%s", link, rest) >= (int)sizeof pending) {
      errno = ENAMETOOLONG;
      return -1;
    }
    pos = 0;
    if (link[0] == '/') resolved[0] = '\0';
  }
  if (snprintf(out, outlen, "%s%s", root, resolved[0] ? resolved : "/") >= (int)outlen) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

int send_fd(int sock, int fd) {
  char byte = 'F';
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    struct cmsghdr hdr;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  for (;;) {
    ssize_t r = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    return r == 1 ? 0 : -1;
  }
}

int recv_fd(int sock) {
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    struct cmsghdr hdr;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  ssize_t r;
  do r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r <= 0) {
    if (r == 0) errno = 0;
    return -1;
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof(int));
      return fd;
    }
  }
  errno = EPROTO;
  return -1;
}

/* Names as moby prints them (SIGRTMIN is glibc's 34, as in moby's signal map). */
const char *signal_name(int sig, char *buf, size_t len) {
  static const char *names[] = {
      NULL,     "HUP",  "INT",  "QUIT", "ILL",    "TRAP",   "ABRT", "BUS",   "FPE", "KILL", "USR1",
      "SEGV",   "USR2", "PIPE", "ALRM", "TERM",   "STKFLT", "CHLD", "CONT",  "STOP", "TSTP", "TTIN",
      "TTOU",   "URG",  "XCPU", "XFSZ", "VTALRM", "PROF",   "WINCH", "IO",   "PWR", "SYS"};
  if (sig > 0 && sig < (int)(sizeof names / sizeof names[0])) snprintf(buf, len, "SIG%s", names[sig]);
  else if (sig == 34) snprintf(buf, len, "SIGRTMIN");
  else if (sig > 34 && sig <= 49) snprintf(buf, len, "SIGRTMIN+%d", sig - 34);
  else if (sig >= 50 && sig < 64) snprintf(buf, len, "SIGRTMAX-%d", 64 - sig);
  else if (sig == 64) snprintf(buf, len, "SIGRTMAX");
  else snprintf(buf, len, "SIG%d", sig);
  return buf;
}

long long read_oom_kill_count(const char *path) {
  if (!path) return 0;
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  char line[256];
  long long count = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "oom_kill ", 9) == 0) count = atoll(line + 9);
  }
  fclose(f);
  return count;
}
