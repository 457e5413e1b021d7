// Error and argument helpers of the native socket addon: errno → JS Error with `code`, and typed
// reads of optional option-object properties (wrong types throw TypeError ERR_INVALID_ARG_TYPE).

#include "ambit_sockets.h"

// ---- errors ---------------------------------------------------------------------------------

const char *errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *n = strerrorname_np(err);
  if (n != NULL) return n;
#endif
  switch (err) {
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOTSOCK: return "ENOTSOCK";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case ENOTCONN: return "ENOTCONN";
    default: return "EUNKNOWN";
  }
}

// Builds `Error(message)` with code = errno name, errno = number, syscall = failing step.
napi_value errno_error(napi_env env, int err, const char *step, const char *detail) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s%s%s failed: %s (%s)", step, detail[0] ? " " : "", detail, errno_name(err), strerror(err));
  napi_value code, message, error, num, sys;
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, step, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  return error;
}

void throw_errno(napi_env env, int err, const char *step, const char *detail) {
  napi_throw(env, errno_error(env, err, step, detail));
}

bool throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

// ---- argument helpers (return false with a pending exception) -------------------------------

bool arg_fd(napi_env env, napi_value v, int *fd) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number || napi_get_value_int32(env, v, fd) != napi_ok || *fd < 0)
    return throw_type(env, "fd must be a non-negative integer");
  return true;
}

bool has_prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  bool has = false;
  napi_has_named_property(env, obj, name, &has);
  if (!has) return false;
  napi_get_named_property(env, obj, name, out);
  napi_valuetype t;
  napi_typeof(env, *out, &t);
  return t != napi_undefined && t != napi_null;
}

// Optional boolean option: absent => *present=false; wrong type => exception.
bool opt_bool(napi_env env, napi_value obj, const char *name, bool *present, bool *out) {
  napi_value v;
  *present = has_prop(env, obj, name, &v);
  if (!*present) return true;
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    char m[96];
    snprintf(m, sizeof m, "option %s must be a boolean", name);
    return throw_type(env, m);
  }
  return true;
}

bool opt_u32(napi_env env, napi_value obj, const char *name, bool *present, uint32_t *out) {
  napi_value v;
  *present = has_prop(env, obj, name, &v);
  if (!*present) return true;
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d) {
    char m[96];
    snprintf(m, sizeof m, "option %s must be an integer 0..2^32-1", name);
    return throw_type(env, m);
  }
  *out = (uint32_t)d;
  return true;
}
