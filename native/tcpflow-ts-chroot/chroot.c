/*
 * chroot(dir): chroot(2) then chdir("/") for the whole process (every thread shares the
 * root and the working directory), as tcpdump's and tcpflow's droproot do. Throws an Error
 * with code = the errno name (EPERM, ENOENT, ...) and message = strerror.
 * Node-API only: context-aware, so it loads in any thread and any Node version >= 20.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  const char *name = err == EPERM ? "EPERM" : err == ENOENT ? "ENOENT" : err == ENOTDIR ? "ENOTDIR"
    : err == EACCES ? "EACCES" : err == ELOOP ? "ELOOP" : err == ENAMETOOLONG ? "ENAMETOOLONG"
    : err == EIO ? "EIO" : "EUNKNOWN";
  napi_value code, msg, error, sys;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
  return NULL;
}

static napi_value do_chroot(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char dir[4096];
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], dir, sizeof dir, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "chroot(dir): dir must be a string");
    return NULL;
  }
  if (len >= sizeof dir - 1) return throw_errno(env, ENAMETOOLONG, "chroot");
  if (chroot(dir) != 0) return throw_errno(env, errno, "chroot");
  if (chdir("/") != 0) return throw_errno(env, errno, "chdir");
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "chroot", NAPI_AUTO_LENGTH, do_chroot, NULL, &fn);
  napi_set_named_property(env, exports, "chroot", fn);
  return exports;
}
