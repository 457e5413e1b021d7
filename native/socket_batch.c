// createSockets: a batch of unbound sockets made in one threadpool work item (one setns pair), the
// supply of the per-netns socket pool (src/sockets/netns-socket-pool.ts).

#include "ambit_sockets.h"

// ---- createSockets(opts, count, callback) ----------------------------------------------------
// A batch of unbound, unconnected sockets made in ONE threadpool work item (one setns pair), for
// the per-netns socket pool: same options as createSocket minus bind/listen/reuse*.

#define MAX_BATCH 256

typedef struct {
  napi_async_work work;
  napi_ref callback;
  netns_ref ns;  // path NULL and fd -1: the calling thread's (= process's) netns
  int family;   // 4 | 6
  sockopts opts;
  uint32_t count;
  // results, written by the worker thread: made == count on success; on failure made == 0
  uint32_t made;
  int fds[MAX_BATCH];
  int err;
  const char *step;
} batch_req;

static void free_batch(napi_env env, batch_req *r) {
  if (r->callback) napi_delete_reference(env, r->callback);
  if (r->work) napi_delete_async_work(env, r->work);
  free_netns_ref(&r->ns);
  free(r);
}

static void close_batch_fds(batch_req *r) {
  for (uint32_t i = 0; i < r->made; i++) close(r->fds[i]);
  r->made = 0;
}

// Makes r->count sockets in the current thread's netns; all or nothing.
static void build_batch(batch_req *r) {
  r->made = 0;
  r->err = 0;
  while (r->made < r->count) {
    int fd = open_socket(r->family, &r->opts, &r->err, &r->step);
    if (fd < 0) break;
    r->fds[r->made++] = fd;
  }
  if (r->err != 0) close_batch_fds(r);
}

static void build_batch_cb(void *r) { build_batch(r); }

// Threadpool thread; run_in_netns returns it to its own netns.
static void batch_execute(napi_env env, void *data) {
  (void)env;
  batch_req *r = data;
  r->made = 0;
  run_in_netns(&r->ns, &r->err, &r->step, build_batch_cb, r);
}

static void batch_complete(napi_env env, napi_status status, void *data) {
  batch_req *r = data;
  napi_value cb, global, argv[2], ignored;
  if (status == napi_cancelled) {
    close_batch_fds(r);
    r->err = ECANCELED;
    r->step = "createSockets (cancelled)";
  }
  bool ok = r->err == 0 && r->made == r->count;
  if (ok) {
    napi_get_null(env, &argv[0]);
    if (napi_create_array_with_length(env, r->made, &argv[1]) != napi_ok) ok = false;
    for (uint32_t i = 0; ok && i < r->made; i++) {
      napi_value v;
      if (napi_create_int32(env, r->fds[i], &v) != napi_ok || napi_set_element(env, argv[1], i, v) != napi_ok) ok = false;
    }
    if (!ok) {
      // Could not build the array (env tearing down): nobody will own these fds.
      close_batch_fds(r);
      free_batch(env, r);
      return;
    }
  } else {
    // "open netns /p", "setns /p", "setsockopt SO_MARK in netns /p", "socket in netns /p"
    char detail[4200];
    netns_error_detail(detail, sizeof detail, r->step, "", &r->ns);
    argv[0] = errno_error(env, r->err, r->step, detail);
    napi_get_undefined(env, &argv[1]);
  }
  napi_status st = napi_get_reference_value(env, r->callback, &cb);
  if (st == napi_ok) st = napi_get_global(env, &global);
  if (st == napi_ok) st = napi_call_function(env, global, cb, 2, argv, &ignored);
  // If the callback could not run (env tearing down) the fds must not leak. Once it ran (even if it
  // threw afterwards: napi_pending_exception) the fds are the callback's.
  if (st != napi_ok && st != napi_pending_exception) close_batch_fds(r);
  free_batch(env, r);
}

napi_value create_sockets(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], name;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &t);
  if (t != napi_function) {
    throw_type(env, "createSockets(options, count, callback): callback must be a function");
    return NULL;
  }
  uint32_t count = 0;
  double d = 0;
  if (napi_get_value_double(env, argv[1], &d) != napi_ok || d < 1 || d > MAX_BATCH || d != (double)(uint32_t)d) {
    throw_type(env, "createSockets: count must be an integer 1..256");
    return NULL;
  }
  count = (uint32_t)d;
  napi_typeof(env, argv[0], &t);
  if (t != napi_object) {
    throw_type(env, "createSockets: options must be an object");
    return NULL;
  }
  batch_req *r = calloc(1, sizeof *r);
  if (r == NULL) {
    throw_errno(env, ENOMEM, "createSockets", "");
    return NULL;
  }
  r->count = count;
  if (!parse_netns_family(env, argv[0], &r->ns, &r->family) || !parse_sockopts(env, argv[0], &r->opts)) {
    free_batch(env, r);
    return NULL;
  }
  napi_create_reference(env, argv[2], 1, &r->callback);
  napi_create_string_utf8(env, "ambit:createSockets", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, batch_execute, batch_complete, r, &r->work) != napi_ok ||
      napi_queue_async_work(env, r->work) != napi_ok) {
    free_batch(env, r);
    napi_throw_error(env, "ERR_NATIVE", "createSockets: could not queue async work");
  }
  return NULL;
}
