// Entering a pod's network namespace on a libuv threadpool thread and leaving it again, shared by
// createSocket and createSockets; plus their common `netns` / `family` option parsing.
//
// Invariant (see ambit_sockets.c): a thread that entered a netns here MUST be returned by leave_netns
// before its work item ends; leave_netns aborts the process rather than leave a pooled thread inside.

#include "ambit_sockets.h"

// Enters netns `path` on the current (threadpool) thread. Returns the fd of the thread's own netns
// to hand to leave_netns, or -1 with *err/*step set (the thread is then still in its own netns).
int enter_netns(const char *path, int *err, const char **step) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    *err = errno;
    *step = "open /proc/thread-self/ns/net";
    return -1;
  }
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    *err = errno;
    *step = "open netns";
    close(self);
    return -1;
  }
  int rc = setns(target, CLONE_NEWNET);
  int e = errno;
  close(target);
  if (rc < 0) {
    *err = e;
    *step = "setns";
    close(self);
    return -1;
  }
  return self;
}

// Returns the thread to the netns enter_netns found it in, or aborts (see the invariant above).
void leave_netns(int self, const char *path) {
  if (setns(self, CLONE_NEWNET) < 0) {
    fprintf(stderr, "ambit_sockets: FATAL: cannot restore the threadpool thread's netns after entering %s: %s; aborting\n",
            path, strerror(errno));
    abort();
  }
  close(self);
}


// Options `netns` (optional path, malloc'd into *netns) and `family` (4|6) of createSocket(s).
bool parse_netns_family(napi_env env, napi_value o, char **netns, int *family) {
  napi_value v;
  if (has_prop(env, o, "netns", &v)) {
    size_t n;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok || n == 0 || n > 4095)
      return throw_type(env, "option netns must be a non-empty path string");
    *netns = malloc(n + 1);
    if (*netns == NULL) {
      throw_errno(env, ENOMEM, "malloc", "netns path");
      return false;
    }
    napi_get_value_string_utf8(env, v, *netns, n + 1, &n);
  }
  int32_t f = 0;
  if (!has_prop(env, o, "family", &v) || napi_get_value_int32(env, v, &f) != napi_ok || (f != 4 && f != 6))
    return throw_type(env, "option family must be 4 or 6");
  *family = f;
  return true;
}

// Runs fn(arg) on the current (threadpool) thread inside netns `path`, or right here when `path` is
// NULL, and always returns the thread to its own netns (leave_netns aborts otherwise). Returns
// false, with *err/*step set, when the netns could not be entered; fn did not run then.
bool run_in_netns(const char *path, int *err, const char **step, void (*fn)(void *), void *arg) {
  if (path == NULL) {
    fn(arg);
    return true;
  }
  int self = enter_netns(path, err, step);
  if (self < 0) return false;
  fn(arg);
  leave_netns(self, path);
  return true;
}

// The `detail` of a createSocket(s) error: the netns itself when entering it failed ("setns /p"),
// else "<prefix> in netns /p" (prefix: e.g. the bind address, or ""); "" outside any netns.
void netns_error_detail(char *out, size_t size, const char *step, const char *prefix, const char *netns) {
  bool at_ns = strcmp(step, "open netns") == 0 || strcmp(step, "setns") == 0;
  if (at_ns && netns != NULL) snprintf(out, size, "%s", netns);
  else snprintf(out, size, "%s%s%s%s", prefix, *prefix != '\0' && netns != NULL ? " " : "", netns != NULL ? "in netns " : "", netns != NULL ? netns : "");
}
