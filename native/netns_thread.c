// Entering a pod's network namespace on a libuv threadpool thread and leaving it again, shared by
// createSocket and createSockets; plus their common `netns` / `netnsFd` / `family` option parsing.
// A netns is named by a file path (opened per entry) or by an fd the caller holds open (istio-cni
// hands ztunnel the pod's netns as an fd over ZDS; setns(2) takes it as it is).
//
// Invariant (see ambit_sockets.c): a thread that entered a netns here MUST be returned by leave_netns
// before its work item ends; leave_netns aborts the process rather than leave a pooled thread inside.

#include "ambit_sockets.h"

// Enters netns `ns` on the current (threadpool) thread. Returns the fd of the thread's own netns
// to hand to leave_netns, or -1 with *err/*step set (the thread is then still in its own netns).
// An fd-named netns is used as it is and never closed here: it belongs to the caller.
int enter_netns(const netns_ref *ns, int *err, const char **step) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    *err = errno;
    *step = "open /proc/thread-self/ns/net";
    return -1;
  }
  int target = ns->fd;
  if (ns->path != NULL) {
    target = open(ns->path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      *err = errno;
      *step = "open netns";
      close(self);
      return -1;
    }
  }
  int rc = setns(target, CLONE_NEWNET);
  int e = errno;
  if (ns->path != NULL) close(target);
  if (rc < 0) {
    *err = e;
    *step = "setns";
    close(self);
    return -1;
  }
  return self;
}

// Returns the thread to the netns enter_netns found it in, or aborts (see the invariant above).
void leave_netns(int self, const netns_ref *ns) {
  if (setns(self, CLONE_NEWNET) < 0) {
    char label[64];
    fprintf(stderr, "ambit_sockets: FATAL: cannot restore the threadpool thread's netns after entering %s: %s; aborting\n",
            netns_label(ns, label, sizeof label), strerror(errno));
    abort();
  }
  close(self);
}


// The netns as error messages name it: its path, or "fd N" (`buf` holds the latter).
const char *netns_label(const netns_ref *ns, char *buf, size_t size) {
  if (ns->path != NULL) return ns->path;
  snprintf(buf, size, "fd %d", ns->fd);
  return buf;
}

// Options `netns` (optional path, malloc'd into ns->path) or `netnsFd` (an open netns fd, into
// ns->fd; -1 when absent), never both, and `family` (4|6) of createSocket(s).
bool parse_netns_family(napi_env env, napi_value o, netns_ref *ns, int *family) {
  napi_value v;
  ns->fd = -1;
  bool has_path = has_prop(env, o, "netns", &v);
  if (has_path) {
    size_t n;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok || n == 0 || n > 4095)
      return throw_type(env, "option netns must be a non-empty path string");
    ns->path = malloc(n + 1);
    if (ns->path == NULL) {
      throw_errno(env, ENOMEM, "malloc", "netns path");
      return false;
    }
    napi_get_value_string_utf8(env, v, ns->path, n + 1, &n);
  }
  if (has_prop(env, o, "netnsFd", &v)) {
    int32_t fd = -1;
    if (has_path) return throw_type(env, "options netns and netnsFd are exclusive");
    if (napi_get_value_int32(env, v, &fd) != napi_ok || fd < 0) return throw_type(env, "option netnsFd must be a non-negative integer");
    // The work item holds its own reference (a dup), so the caller may close its fd at any time
    // after this call: a queued item never setns()es into whatever reuses the fd number later.
    ns->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    ns->owns_fd = ns->fd >= 0;
    if (ns->fd < 0) {
      ns->dup_err = errno;
      ns->fd = fd;  // for the error text only; never entered
    }
  }
  int32_t f = 0;
  if (!has_prop(env, o, "family", &v) || napi_get_value_int32(env, v, &f) != napi_ok || (f != 4 && f != 6))
    return throw_type(env, "option family must be 4 or 6");
  *family = f;
  return true;
}

// Runs fn(arg) on the current (threadpool) thread inside netns `ns`, or right here when `ns` names
// none, and always returns the thread to its own netns (leave_netns aborts otherwise). Returns
// false, with *err/*step set, when the netns could not be entered; fn did not run then.
bool run_in_netns(const netns_ref *ns, int *err, const char **step, void (*fn)(void *), void *arg) {
  if (ns->path == NULL && ns->fd < 0) {
    fn(arg);
    return true;
  }
  if (ns->dup_err != 0) {
    *err = ns->dup_err;
    *step = "setns";
    return false;
  }
  int self = enter_netns(ns, err, step);
  if (self < 0) return false;
  fn(arg);
  leave_netns(self, ns);
  return true;
}

// The `detail` of a createSocket(s) error: the netns itself when entering it failed ("setns /p",
// "setns fd 7"), else "<prefix> in netns /p" (prefix: e.g. the bind address, or ""); "" outside any netns.
void netns_error_detail(char *out, size_t size, const char *step, const char *prefix, const netns_ref *ns) {
  char label[64];
  const char *netns = ns->path == NULL && ns->fd < 0 ? NULL : netns_label(ns, label, sizeof label);
  bool at_ns = strcmp(step, "open netns") == 0 || strcmp(step, "setns") == 0;
  if (at_ns && netns != NULL) snprintf(out, size, "%s", netns);
  else snprintf(out, size, "%s%s%s%s", prefix, *prefix != '\0' && netns != NULL ? " " : "", netns != NULL ? "in netns " : "", netns != NULL ? netns : "");
}

// Releases what parse_netns_family allocated (the path, the dup of netnsFd).
void free_netns_ref(netns_ref *ns) {
  free(ns->path);
  ns->path = NULL;
  if (ns->owns_fd) close(ns->fd);
  ns->owns_fd = false;
  ns->fd = -1;
}
