/*
 * Flow-file system calls for tcpflow-ts's worker threads, fewer and cheaper than node:fs's:
 * - openAt(dirfd, name, flags, mode): openat(2) relative to the output directory's
 *   descriptor, so the kernel walks one name instead of the whole output path;
 * - write(fd, data, off, len, pos): one piece or a run of pieces at a position (pwrite or
 *   pwritev until done), without node:fs's request object and error context;
 * - finish(fd, data, off, len, pos, time): the file's last bytes, its times (futimens) and
 *   close(2) in one call, where node:fs takes three.
 * Measured on tmpfs (100,000 files of 2 kB, one thread): 11.1 us a file through node:fs,
 * 9.5 us through these (README, Packages).
 * - exitNow(code): _exit(2), for the end of a run (src/util/exit.ts).
 * Errors come back as -errno (a number, never an exception): the caller words them.
 * Node-API only: context-aware, so it loads in every worker thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <node_api.h>

static napi_value int_value(napi_env env, int v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

/* A string argument into buf (NUL-terminated); 0, or -ENAMETOOLONG / -EINVAL. */
static int string_arg(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return -EINVAL;
  if (len >= size - 1) return -ENAMETOOLONG;
  return 0;
}

/* openDir(path) -> a descriptor of the directory (O_PATH: only for *at calls), or -errno. */
static napi_value open_dir(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char p[4096];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return int_value(env, -EINVAL);
  int r = string_arg(env, argv[0], p, sizeof p);
  if (r != 0) return int_value(env, r);
  int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return int_value(env, fd < 0 ? -errno : fd);
}

/* openAt(dirfd, name, flags, mode) -> a descriptor, or -errno. */
static napi_value open_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  char name[4096];
  int32_t dirfd, flags, mode;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_int32(env, argv[0], &dirfd) != napi_ok || napi_get_value_int32(env, argv[2], &flags) != napi_ok ||
      napi_get_value_int32(env, argv[3], &mode) != napi_ok) return int_value(env, -EINVAL);
  int r = string_arg(env, argv[1], name, sizeof name);
  if (r != 0) return int_value(env, r);
  int fd;
  do fd = openat(dirfd, name, flags | O_CLOEXEC, (mode_t)mode); while (fd < 0 && errno == EINTR);
  return int_value(env, fd < 0 ? -errno : fd);
}

/*
 * Seconds as a timespec of whole microseconds, truncated as libuv truncates the seconds
 * node:fs's futimesSync is given (uv__fs_to_timespec), so that a file stamped here has
 * the time node:fs gives it; before 1970 (which node:fs turns into the current time) the
 * whole seconds are taken below `t`, not towards zero, so that the microseconds of
 * FlowFile.mtime()'s seconds + (microseconds + 0.5) / 1e6 come out as they went in.
 */
static struct timespec to_timespec(double t) {
  struct timespec ts;
  double sec = floor(t);
  ts.tv_sec = (time_t)sec;
  ts.tv_nsec = (long)((t - sec) * 1e9);
  ts.tv_nsec -= ts.tv_nsec % 1000;
  return ts;
}

/* Write iov[0, n) at `at`, all of it (a short write goes on where it stopped): 0 or errno. */
static int write_all(int fd, struct iovec *iov, int n, off_t at) {
  while (n > 0) {
    ssize_t done = n == 1 ? pwrite(fd, iov[0].iov_base, iov[0].iov_len, at) : pwritev(fd, iov, n, at);
    if (done < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    at += done;
    while (n > 0 && (size_t)done >= iov[0].iov_len) {
      done -= (ssize_t)iov[0].iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov[0].iov_base = (char *)iov[0].iov_base + done;
      iov[0].iov_len -= (size_t)done;
    }
  }
  return 0;
}

/* The bytes [off, off + len) of a Uint8Array (`whole`: all of them) into *iov; 0 or -EINVAL. */
static int piece(napi_env env, napi_value v, size_t off, size_t len, bool whole, struct iovec *iov) {
  bool is = false;
  void *base = NULL;
  size_t n = 0;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, &n, &base, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      off > n || (!whole && len > n - off)) return -EINVAL;
  iov->iov_base = (char *)base + off;
  iov->iov_len = whole ? n - off : len;
  return 0;
}

#define MAX_PIECES 1024

/*
 * The bytes named by argv[1..4] (data, off, len, pos) into iov: data[off, off + len) of one
 * Uint8Array, or every Uint8Array of an array in turn (off then 0 and len their total; at
 * most MAX_PIECES); data null or len 0: none. 0, or EINVAL when they do not fit.
 */
static int gather(napi_env env, napi_value *argv, struct iovec *iov, int *pieces, off_t *at) {
  int32_t off, len;
  double pos;
  *pieces = 0;
  if (napi_get_value_int32(env, argv[2], &off) != napi_ok || napi_get_value_int32(env, argv[3], &len) != napi_ok ||
      napi_get_value_double(env, argv[4], &pos) != napi_ok || off < 0 || len < 0 || !(pos >= 0)) return EINVAL;
  *at = (off_t)pos;
  if (len == 0) return 0;
  bool list = false;
  if (napi_is_array(env, argv[1], &list) != napi_ok) return EINVAL;
  if (!list) {
    if (piece(env, argv[1], (size_t)off, (size_t)len, false, &iov[0]) != 0) return EINVAL;
    *pieces = 1;
    return 0;
  }
  uint32_t n = 0;
  size_t total = 0;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok || n > MAX_PIECES || off != 0) return EINVAL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || piece(env, v, 0, 0, true, &iov[i]) != 0) return EINVAL;
    total += iov[i].iov_len;
  }
  if (total != (size_t)len) return EINVAL;
  *pieces = (int)n;
  return 0;
}

/*
 * write(fd, data, off, len, pos) -> 0 or -errno: the bytes (as gather() takes them) at pos,
 * all of them (pwrite, or pwritev for several pieces; a short write goes on).
 */
static napi_value write_at(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd;
  struct iovec iov[MAX_PIECES];
  int pieces;
  off_t at;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) return int_value(env, -EINVAL);
  int err = gather(env, argv, iov, &pieces, &at);
  if (err == 0) err = write_all(fd, iov, pieces, at);
  return int_value(env, -err);
}

/*
 * finish(fd, data, off, len, pos, time) -> 0 or -errno of the first call that failed.
 * Writes the file's last bytes as write() does, then stamps atime and mtime with `time`
 * (seconds; null: not stamped) and closes fd. A failed write still stamps and closes, as
 * the JavaScript path does, and arguments refused (EINVAL) still close: the descriptor is
 * gone whatever happens.
 */
static napi_value finish(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int32_t fd;
  double t = 0;
  napi_valuetype tt;
  struct iovec iov[MAX_PIECES];
  int pieces;
  off_t at;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) return int_value(env, -EINVAL);
  int err = gather(env, argv, iov, &pieces, &at);
  if (err == 0 && (napi_typeof(env, argv[5], &tt) != napi_ok ||
                   (tt == napi_number && napi_get_value_double(env, argv[5], &t) != napi_ok))) err = EINVAL;
  if (err != 0) {
    close(fd);
    return int_value(env, -err);
  }
  err = write_all(fd, iov, pieces, at);
  if (tt == napi_number && !isnan(t)) {
    struct timespec ts[2];
    ts[0] = ts[1] = to_timespec(t);
    if (futimens(fd, ts) != 0 && err == 0) err = errno;
  }
  if (close(fd) != 0 && err == 0 && errno != EINTR) err = errno;
  return int_value(env, -err);
}

/*
 * exitNow(code): end the process now, without process.exit()'s shutdown of V8's platform:
 * that joins the platform's threads, and a concurrent compile job parked there waiting for
 * the main thread to collect garbage never ends, so the process hangs for good
 * (nodejs/node#54918; here 4 runs in ~2,000 on a loaded machine). Everything the run
 * writes is written synchronously before; C's buffered streams are flushed as exit() would.
 */
static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1) napi_get_value_int32(env, argv[0], &code);
  fflush(NULL);
  _exit(code & 0xff);
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback fn; } fns[] = {
    { "openDir", open_dir }, { "openAt", open_at }, { "write", write_at }, { "finish", finish },
    { "exitNow", exit_now },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  /* The errno numbers the caller tells apart, as this C library has them. */
  static const struct { const char *name; int value; } codes[] = {
    { "EEXIST", EEXIST }, { "EMFILE", EMFILE }, { "ENFILE", ENFILE },
  };
  napi_value errno_object;
  napi_create_object(env, &errno_object);
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    napi_value v;
    napi_create_int32(env, codes[i].value, &v);
    napi_set_named_property(env, errno_object, codes[i].name, v);
  }
  napi_set_named_property(env, exports, "errno", errno_object);
  return exports;
}
