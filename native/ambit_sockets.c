// Native socket primitives Node core lacks, for transparent capture: SO_ORIGINAL_DST, SO_MARK,
// IP_TRANSPARENT/FREEBIND, sockets created inside another network namespace (setns, by path or fd),
// and the Unix SOCK_SEQPACKET socket with SCM_RIGHTS that istio-cni's ZDS protocol runs on; and
// trimHeap (heap_trim.c), glibc malloc_trim on the threadpool.
//
// Node-API only (node_api.h, NAPI_VERSION 8): the binary is independent of the Node ABI.
// Invariant: setns(CLONE_NEWNET) runs ONLY on a libuv threadpool thread (napi async work), which
// always returns to its original netns before the work item ends; failing that we abort, because a
// pooled thread left in a pod netns would silently run unrelated work (fs, dns) in that pod.

#include "ambit_sockets.h"

// ---- createSocket(opts, callback) ------------------------------------------------------------

typedef struct {
  napi_async_work work;
  napi_ref callback;
  netns_ref ns;  // path NULL and fd -1: the calling thread's (= process's) netns
  int family;   // 4 | 6
  sockopts opts;
  bool has_reuse_addr, reuse_addr, has_reuse_port, reuse_port;
  bool has_bind;
  char bind_text[INET6_ADDRSTRLEN + 8];
  struct sockaddr_storage bind_addr;
  socklen_t bind_len;
  bool has_listen;
  uint32_t backlog;
  // results, written by the worker thread
  int fd;
  int err;
  const char *step;
} create_req;

static void free_req(napi_env env, create_req *r) {
  if (r->callback) napi_delete_reference(env, r->callback);
  if (r->work) napi_delete_async_work(env, r->work);
  free_netns_ref(&r->ns);
  free(r);
}

// Creates and configures the socket in whatever netns the current thread is in.
static void build_socket(create_req *r) {
  int on = 1, fd = open_socket(r->family, &r->opts, &r->err, &r->step);
  if (fd < 0) return;
  if (r->has_reuse_addr) {
    on = r->reuse_addr ? 1 : 0;
    r->step = "setsockopt SO_REUSEADDR";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) goto fail_errno;
  }
  if (r->has_reuse_port) {
    on = r->reuse_port ? 1 : 0;
    r->step = "setsockopt SO_REUSEPORT";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) goto fail_errno;
  }
  if (r->has_bind) {
    r->step = "bind";
    if (bind(fd, (struct sockaddr *)&r->bind_addr, r->bind_len) < 0) goto fail_errno;
  }
  if (r->has_listen) {
    r->step = "listen";
    if (listen(fd, (int)r->backlog) < 0) goto fail_errno;
  }
  r->fd = fd;
  r->err = 0;
  return;
fail_errno:
  r->err = errno;
  close(fd);
}

static void build_socket_cb(void *r) { build_socket(r); }

// Threadpool thread; run_in_netns returns it to its own netns.
static void create_execute(napi_env env, void *data) {
  (void)env;
  create_req *r = data;
  r->fd = -1;
  run_in_netns(&r->ns, &r->err, &r->step, build_socket_cb, r);
}

static void create_complete(napi_env env, napi_status status, void *data) {
  create_req *r = data;
  napi_value cb, global, argv[2], ignored;
  napi_get_reference_value(env, r->callback, &cb);
  napi_get_global(env, &global);
  if (status == napi_cancelled) {
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    r->err = ECANCELED;
    r->step = "createSocket (cancelled)";
  }
  if (r->fd >= 0) {
    napi_get_null(env, &argv[0]);
    napi_create_int32(env, r->fd, &argv[1]);
  } else {
    // "open netns /p", "setns /p", "bind 10.0.0.1:80 in netns /p", "setsockopt SO_MARK in netns /p"
    char detail[4200];
    bool at_bind = r->has_bind && strcmp(r->step, "bind") == 0;
    netns_error_detail(detail, sizeof detail, r->step, at_bind ? r->bind_text : "", &r->ns);
    argv[0] = errno_error(env, r->err, r->step, detail);
    napi_get_undefined(env, &argv[1]);
  }
  napi_status st = napi_call_function(env, global, cb, 2, argv, &ignored);
  // If the callback could not run (env tearing down, or it threw) an fd must not leak.
  if (st != napi_ok && st != napi_pending_exception && r->fd >= 0) close(r->fd);
  free_req(env, r);
}

static bool parse_create_opts(napi_env env, napi_value o, create_req *r) {
  napi_value v;
  napi_valuetype t;
  napi_typeof(env, o, &t);
  if (t != napi_object) return throw_type(env, "createSocket: options must be an object");
  if (!parse_netns_family(env, o, &r->ns, &r->family)) return false;
  int family = r->family;
  if (!parse_sockopts(env, o, &r->opts) || !opt_bool(env, o, "reuseAddr", &r->has_reuse_addr, &r->reuse_addr) ||
      !opt_bool(env, o, "reusePort", &r->has_reuse_port, &r->reuse_port) ||
      !opt_u32(env, o, "listen", &r->has_listen, &r->backlog))
    return false;
  if (has_prop(env, o, "bind", &v)) {
    napi_value vip, vport;
    char ip[INET6_ADDRSTRLEN];
    size_t n;
    int32_t port = 0;
    if (!has_prop(env, v, "ip", &vip) || napi_get_value_string_utf8(env, vip, ip, sizeof ip, &n) != napi_ok)
      return throw_type(env, "option bind.ip must be an IP address string");
    if (has_prop(env, v, "port", &vport) && (napi_get_value_int32(env, vport, &port) != napi_ok || port < 0 || port > 65535))
      return throw_type(env, "option bind.port must be an integer 0..65535");
    if (!parse_ip(ip, port, family, &r->bind_addr, &r->bind_len)) {
      char m[160];
      snprintf(m, sizeof m, "option bind.ip '%s' is not an IPv%d address", ip, family);
      return throw_type(env, m);
    }
    snprintf(r->bind_text, sizeof r->bind_text, family == 6 ? "[%s]:%d" : "%s:%d", ip, port);
    r->has_bind = true;
  }
  if (r->has_listen && !r->has_bind) return throw_type(env, "option listen needs bind (the address to listen on)");
  return true;
}

static napi_value create_socket(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (t != napi_function) {
    throw_type(env, "createSocket(options, callback): callback must be a function");
    return NULL;
  }
  create_req *r = calloc(1, sizeof *r);
  if (r == NULL) {
    throw_errno(env, ENOMEM, "createSocket", "");
    return NULL;
  }
  r->fd = -1;
  if (!parse_create_opts(env, argv[0], r)) {
    free_req(env, r);
    return NULL;
  }
  napi_create_reference(env, argv[1], 1, &r->callback);
  napi_create_string_utf8(env, "ambit:createSocket", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, create_execute, create_complete, r, &r->work) != napi_ok ||
      napi_queue_async_work(env, r->work) != napi_ok) {
    free_req(env, r);
    napi_throw_error(env, "ERR_NATIVE", "createSocket: could not queue async work");
  }
  return NULL;
}

// ---- module ----------------------------------------------------------------------------------

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"originalDst", NULL, original_dst, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createSocket", NULL, create_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createSockets", NULL, create_sockets, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bindSocket", NULL, bind_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setSocketOptions", NULL, set_socket_options, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getSocketOptions", NULL, get_socket_options, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketNetnsInode", NULL, socket_netns_inode, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsInodeOfSocket", NULL, netns_inode_of_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeSocket", NULL, close_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsFdInode", NULL, netns_fd_inode, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seqpacketConnect", NULL, seqpacket_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seqpacketSend", NULL, seqpacket_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seqpacketRecv", NULL, seqpacket_recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollReadable", NULL, poll_readable, NULL, NULL, NULL, napi_enumerable, NULL},
      {"trimHeap", NULL, trim_heap, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
