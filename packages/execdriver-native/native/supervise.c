/*
 * The shim's side of a process's life: stdio plumbing, the start handshake ("go", after which
 * the child joins its cgroups; terminal; exec result), then a poll() loop relaying stdio and
 * serving control commands until the process exits and its output has drained. The child
 * never gets the daemon's fds.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim is glibc's (musl has none) */
#endif
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* After the process exits, output still arriving from leftovers (an exec's background job) is
 * relayed until the pipes go quiet for DRAIN_IDLE_MS, and never longer than DRAIN_MAX_MS. */
#define DRAIN_IDLE_MS 250
#define DRAIN_MAX_MS 2000
#define PUMP_BUF 65536

static int control_open = 1;

void control_event(const char *fmt, ...) {
  if (!control_open) return;
  char line[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  for (int i = 0; i < n; i++)
    if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
  line[n++] = '\n';
  /* A daemon that went away must not take the container with it: keep running silently. */
  if (write_all(TSD_CONTROL_FD, line, (size_t)n) < 0) control_open = 0;
}

static long long now_ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static void set_block(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

int plumbing_create(const struct spec *spec, struct plumbing *p, char *err, size_t errlen) {
  memset(p, 0xff, sizeof *p); /* every fd -1 */
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->sync) < 0) goto fail;
  if (pipe2(p->errp, O_CLOEXEC) < 0) goto fail;
  if (!spec->terminal) {
    if (spec->open_stdin) {
      if (pipe2(p->in, O_CLOEXEC) < 0) goto fail;
    } else if ((p->in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
      goto fail;
    }
    if (pipe2(p->out, O_CLOEXEC) < 0 || pipe2(p->errout, O_CLOEXEC) < 0) goto fail;
    /* Swap so that [0] is always the shim's end and [1] the child's. */
    int t = p->in[0];
    p->in[0] = p->in[1];
    p->in[1] = t;
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0) goto fail;
  if ((p->sigchld_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) goto fail;
  return 0;
fail:
  snprintf(err, errlen, "create stdio pipes: %s", errstr(errno));
  return -1;
}

void plumbing_close_child_ends(struct plumbing *p) {
  int *ends[] = {&p->sync[1], &p->errp[1], &p->in[1], &p->out[1], &p->errout[1]};
  for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
    if (*ends[i] >= 0) close(*ends[i]);
    *ends[i] = -1;
  }
}

/* ---- start handshake ------------------------------------------------------------------------ */

static void give_up_on_child(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

/* ---- relay ---------------------------------------------------------------------------------- */

struct pump {
  int src, dst;
  char buf[PUMP_BUF];
  size_t len, off;
  int src_eof;
  int owns_dst;   /* close dst once src is drained (a pipe's EOF is how the reader learns) */
  int dst_broken; /* the reader went away: keep draining src, drop the bytes */
};

/*
 * Field by field, never a memset of the whole struct: that would write all of buf, making
 * 3 x 64 KiB resident in every shim for good, while a quiet container's shim never needs a
 * page of it (read() touches only the bytes it returns).
 */
static void pump_init(struct pump *pp, int src, int dst, int owns_dst) {
  pp->src = src;
  pp->dst = dst;
  pp->len = 0;
  pp->off = 0;
  pp->src_eof = src < 0;
  pp->owns_dst = owns_dst;
  pp->dst_broken = 0;
  if (src >= 0) set_nonblock(src);
  if (dst >= 0) set_nonblock(dst);
}

static int pump_done(const struct pump *pp) { return pp->src_eof && pp->len == 0; }

/* Returns 1 when bytes moved. */
static int pump_read(struct pump *pp) {
  if (pp->src_eof || pp->len > 0) return 0;
  ssize_t r = read(pp->src, pp->buf, sizeof pp->buf);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (r <= 0) { /* EOF, or EIO from a pty master once the last slave fd is closed */
    pp->src_eof = 1;
    return 0;
  }
  pp->len = (size_t)r;
  pp->off = 0;
  if (pp->dst < 0 || pp->dst_broken) pp->len = 0;
  return 1;
}

static void pump_write(struct pump *pp) {
  while (pp->len > 0) {
    ssize_t w = write(pp->dst, pp->buf + pp->off, pp->len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return;
    if (w < 0) {
      pp->dst_broken = 1;
      pp->len = 0;
      break;
    }
    pp->off += (size_t)w;
    pp->len -= (size_t)w;
  }
  pp->off = 0;
}

static void pump_close_if_done(struct pump *pp) {
  if (pump_done(pp) && pp->owns_dst && pp->dst >= 0) {
    close(pp->dst);
    pp->dst = -1;
  }
}

/* Final flush in blocking mode: every byte already read reaches the daemon. */
static void pump_flush(struct pump *pp) {
  if (pp->len > 0 && pp->dst >= 0 && !pp->dst_broken) {
    set_block(pp->dst);
    write_all(pp->dst, pp->buf + pp->off, pp->len);
  }
  pp->len = 0;
}

struct control_reader {
  char buf[4096];
  size_t len;
};

static void handle_command(char *line, pid_t pid, int exited, int master) {
  char *cmd = strtok(line, " ");
  if (!cmd) return;
  if (strcmp(cmd, "resize") == 0) {
    char *rows = strtok(NULL, " "), *cols = strtok(NULL, " ");
    if (!rows || !cols) {
      control_event("fail resize expected: resize <rows> <cols>");
      return;
    }
    struct winsize ws = {.ws_row = (unsigned short)atoi(rows), .ws_col = (unsigned short)atoi(cols)};
    /* The kernel sends SIGWINCH to the terminal's foreground process group. */
    if (master >= 0 && ioctl(master, TIOCSWINSZ, &ws) < 0) {
      control_event("fail resize %s", errstr(errno));
      return;
    }
    control_event("ok resize");
  } else if (strcmp(cmd, "signal") == 0) {
    char *num = strtok(NULL, " ");
    int sig = num ? atoi(num) : 0;
    if (sig <= 0 || sig > 64) {
      control_event("fail signal invalid signal number %s", num ? num : "");
      return;
    }
    if (!exited && kill(pid, sig) < 0 && errno != ESRCH) {
      control_event("fail signal %s", errstr(errno));
      return;
    }
    control_event("ok signal");
  } else {
    control_event("fail %s unknown command", cmd);
  }
}

/* Reads whatever the daemon sent and runs each complete line. */
static void control_read(struct control_reader *cr, pid_t pid, int exited, int master) {
  ssize_t r = read(TSD_CONTROL_FD, cr->buf + cr->len, sizeof cr->buf - 1 - cr->len);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (r <= 0) {
    control_open = 0;
    return;
  }
  cr->len += (size_t)r;
  char *start = cr->buf;
  char *nl;
  while ((nl = memchr(start, '\n', cr->len - (size_t)(start - cr->buf)))) {
    *nl = '\0';
    handle_command(start, pid, exited, master);
    start = nl + 1;
  }
  cr->len -= (size_t)(start - cr->buf);
  memmove(cr->buf, start, cr->len);
  if (cr->len == sizeof cr->buf - 1) cr->len = 0; /* an absurdly long line: drop it */
}

static void write_exit_file(const char *path, const char *line) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  int ok = write_all(fd, line, strlen(line)) == 0 && fsync(fd) == 0;
  close(fd);
  if (ok) rename(tmp, path);
  else unlink(tmp);
}

int supervise(const struct spec *spec, struct plumbing *p, pid_t pid, int is_init) {
  long long oom_before = is_init ? read_oom_kill_count(spec->oom_events) : 0;

  if (write_all(p->sync[0], "G", 1) < 0) {
    control_event("error start process: %s", errstr(errno));
    give_up_on_child(pid);
    return 1;
  }

  int master = -1;
  if (spec->terminal) {
    master = recv_fd(p->sync[0]);
    if (master >= 0) {
      if (spec->rows && spec->cols) {
        struct winsize ws = {.ws_row = spec->rows, .ws_col = spec->cols};
        ioctl(master, TIOCSWINSZ, &ws);
      }
      write_all(p->sync[0], "G", 1);
    }
  }

  /* The error pipe reaches EOF at a successful execve (CLOEXEC) or when the child dies. */
  char errmsg[2048];
  size_t errlen = 0;
  for (;;) {
    ssize_t r = read(p->errp[0], errmsg + errlen, sizeof errmsg - 1 - errlen);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    errlen += (size_t)r;
    if (errlen == sizeof errmsg - 1) break;
  }
  errmsg[errlen] = '\0';
  close(p->errp[0]);
  close(p->sync[0]);
  if (errlen > 0) {
    control_event("error %s", errmsg);
    give_up_on_child(pid);
    return 1;
  }
  control_event("started %d", (int)pid);
#ifdef __GLIBC__
  /* A shim lives as long as its container: hand back the heap pages the start-up touched. */
  malloc_trim(0);
#endif

  static struct pump in_pump, out_pump, err_pump;
  int in_src = spec->open_stdin ? 0 : -1;
  if (spec->terminal) {
    pump_init(&in_pump, in_src, master, 0);
    pump_init(&out_pump, master, 1, 1);
    pump_init(&err_pump, -1, -1, 0);
  } else {
    pump_init(&in_pump, in_src, p->in[0], 1);
    pump_init(&out_pump, p->out[0], 1, 1);
    pump_init(&err_pump, p->errout[0], 2, 1);
  }
  struct pump *pumps[] = {&in_pump, &out_pump, &err_pump};

  struct control_reader cr = {.len = 0};
  int exited = 0, status = 0;
  long long finished_at = 0, drain_deadline = 0, last_activity = 0;

  for (;;) {
    struct pollfd fds[8];
    struct pump *owner[8];
    int nfds = 0;
    fds[nfds] = (struct pollfd){.fd = p->sigchld_fd, .events = POLLIN};
    owner[nfds++] = NULL;
    int control_idx = -1;
    if (control_open) {
      control_idx = nfds;
      fds[nfds] = (struct pollfd){.fd = TSD_CONTROL_FD, .events = POLLIN};
      owner[nfds++] = NULL;
    }
    for (size_t i = 0; i < 3; i++) {
      struct pump *pp = pumps[i];
      if (pp->len > 0 && pp->dst >= 0) {
        fds[nfds] = (struct pollfd){.fd = pp->dst, .events = POLLOUT};
        owner[nfds++] = pp;
      } else if (!pp->src_eof && pp->len == 0) {
        fds[nfds] = (struct pollfd){.fd = pp->src, .events = POLLIN};
        owner[nfds++] = pp;
      }
    }

    int timeout = -1;
    if (exited) {
      long long now = now_ms(CLOCK_MONOTONIC);
      long long until = last_activity + DRAIN_IDLE_MS;
      if (drain_deadline < until) until = drain_deadline;
      timeout = until > now ? (int)(until - now) : 0;
    }
    int n = poll(fds, (nfds_t)nfds, timeout);
    if (n < 0 && errno != EINTR) break;

    if (n > 0 && fds[0].revents) {
      struct signalfd_siginfo si;
      while (read(p->sigchld_fd, &si, sizeof si) > 0) {}
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
        if (w == pid && !exited) {
          exited = 1;
          status = st;
          finished_at = now_ms(CLOCK_REALTIME);
          last_activity = now_ms(CLOCK_MONOTONIC);
          drain_deadline = last_activity + DRAIN_MAX_MS;
        }
      }
    }
    if (n > 0 && control_idx >= 0 && fds[control_idx].revents) control_read(&cr, pid, exited, master);
    for (int i = 0; n > 0 && i < nfds; i++) {
      struct pump *pp = owner[i];
      if (!pp || !fds[i].revents) continue;
      if (fds[i].events & POLLIN) {
        if (pump_read(pp)) last_activity = now_ms(CLOCK_MONOTONIC);
      }
      if (pp->len > 0) pump_write(pp);
      pump_close_if_done(pp);
    }

    if (exited) {
      if (pump_done(&out_pump) && pump_done(&err_pump)) break;
      long long now = now_ms(CLOCK_MONOTONIC);
      if (now >= drain_deadline || now - last_activity >= DRAIN_IDLE_MS) break;
    }
  }

  /* Closing our ends is how the daemon learns the output is complete. */
  for (size_t i = 0; i < 3; i++) {
    struct pump *pp = pumps[i];
    if (pp == &in_pump) continue;
    pump_flush(pp);
    if (pp->owns_dst && pp->dst >= 0) close(pp->dst);
    pp->dst = -1;
  }
  close(0);
  if (master >= 0) close(master);

  int code, sig = 0;
  if (WIFSIGNALED(status)) {
    sig = WTERMSIG(status);
    code = 128 + sig;
  } else {
    code = WEXITSTATUS(status);
  }
  int oom = is_init && spec->oom_events && read_oom_kill_count(spec->oom_events) > oom_before;
  char signame[32] = "-";
  if (sig) signal_name(sig, signame, sizeof signame);
  char line[128];
  snprintf(line, sizeof line, "exit %d %s %d %lld\n", code, signame, oom, finished_at);
  if (spec->exit_file) write_exit_file(spec->exit_file, line);
  line[strlen(line) - 1] = '\0';
  control_event("%s", line);
  return 0;
}
