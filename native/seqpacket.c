// The ZDS client's transport: a Unix SOCK_SEQPACKET socket (one message per datagram) connected to
// istio-cni, datagrams received with their SCM_RIGHTS fds (a pod's netns), and readiness of the fd
// reported on the Node event loop (uv_poll), since Node's net module has no SEQPACKET sockets.
//
// Everything here runs on the JS thread and never blocks: the socket is non-blocking and a receive
// with nothing queued returns null. Received fds are close-on-exec (MSG_CMSG_CLOEXEC, as ztunnel).

#include "ambit_sockets.h"

#include <sys/un.h>
#include <sys/vfs.h>
#include <uv.h>

// Most fds one datagram may carry that are received (and then closed by the caller): ZDS allows 1,
// more is a protocol error the caller reports. Past this the kernel closes them and sets MSG_CTRUNC.
#define MAX_RECV_FDS 16
// Largest datagram a receive may ask for (ZDS uses 1024).
#define MAX_RECV_BYTES 65536

// ---- seqpacketConnect(path) -> fd ---------------------------------------------------------------

napi_value seqpacket_connect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t n = 0;
  char path[4096];
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n) != napi_ok || n == 0) {
    throw_type(env, "seqpacketConnect(path): path must be a non-empty string");
    return NULL;
  }
  if (n >= sizeof sa.sun_path) {
    throw_errno(env, ENAMETOOLONG, "connect", path);
    return NULL;
  }
  memcpy(sa.sun_path, path, n);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "socket", path);
    return NULL;
  }
  // A Unix connect completes at once or fails (ENOENT, ECONNREFUSED; EAGAIN when the listener's
  // backlog is full): there is no in-progress state to wait out.
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, e, "connect", path);
    return NULL;
  }
  napi_create_int32(env, fd, &result);
  return result;
}

// ---- seqpacketSend(fd, bytes) -------------------------------------------------------------------

napi_value seqpacket_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd;
  if (argc < 2 || !arg_fd(env, argv[0], &fd)) return NULL;
  bool is_typed = false;
  napi_is_typedarray(env, argv[1], &is_typed);
  if (!is_typed) {
    throw_type(env, "seqpacketSend(fd, bytes): bytes must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL);
  if (type != napi_uint8_array) {
    throw_type(env, "seqpacketSend(fd, bytes): bytes must be a Uint8Array");
    return NULL;
  }
  // One datagram, whole or not at all. MSG_NOSIGNAL: a closed peer is EPIPE, not SIGPIPE.
  ssize_t sent = send(fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 0) {
    throw_errno(env, errno, "send", "");
    return NULL;
  }
  return NULL;
}

// ---- seqpacketRecv(fd, maxBytes) -> { data, fds, truncated, controlTruncated } | null ------------

napi_value seqpacket_recv(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd;
  uint32_t max = 0;
  if (argc < 2 || !arg_fd(env, argv[0], &fd)) return NULL;
  if (napi_get_value_uint32(env, argv[1], &max) != napi_ok || max == 0 || max > MAX_RECV_BYTES) {
    throw_type(env, "seqpacketRecv(fd, maxBytes): maxBytes must be an integer 1..65536");
    return NULL;
  }
  uint8_t *buf = malloc(max);
  if (buf == NULL) {
    throw_errno(env, ENOMEM, "malloc", "");
    return NULL;
  }
  union {
    char space[CMSG_SPACE(sizeof(int) * MAX_RECV_FDS)];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = buf, .iov_len = max};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) {
    int e = errno;
    free(buf);
    if (e == EAGAIN || e == EWOULDBLOCK) {
      napi_get_null(env, &result);
      return result;
    }
    throw_errno(env, e, "recvmsg", "");
    return NULL;
  }
  int fds[MAX_RECV_FDS];
  uint32_t nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const int *in = (const int *)CMSG_DATA(c);
    for (size_t i = 0; i < count; i++) {
      int got;
      memcpy(&got, &in[i], sizeof got);
      if (nfds < MAX_RECV_FDS) fds[nfds++] = got;
      else close(got);
    }
  }
  // From here every fd belongs to the JS caller: if building the result fails, close them.
  bool ok = napi_create_object(env, &result) == napi_ok;
  void *copy = NULL;
  ok = ok && napi_create_buffer_copy(env, (size_t)n, buf, &copy, &v) == napi_ok && napi_set_named_property(env, result, "data", v) == napi_ok;
  free(buf);
  napi_value arr;
  ok = ok && napi_create_array_with_length(env, nfds, &arr) == napi_ok;
  for (uint32_t i = 0; ok && i < nfds; i++) {
    ok = napi_create_int32(env, fds[i], &v) == napi_ok && napi_set_element(env, arr, i, v) == napi_ok;
  }
  ok = ok && napi_set_named_property(env, result, "fds", arr) == napi_ok;
  ok = ok && napi_get_boolean(env, (msg.msg_flags & MSG_TRUNC) != 0, &v) == napi_ok && napi_set_named_property(env, result, "truncated", v) == napi_ok;
  ok = ok && napi_get_boolean(env, (msg.msg_flags & MSG_CTRUNC) != 0, &v) == napi_ok &&
       napi_set_named_property(env, result, "controlTruncated", v) == napi_ok;
  if (!ok) {
    for (uint32_t i = 0; i < nfds; i++) close(fds[i]);
    return NULL;
  }
  return result;
}

// ---- netnsFdInode(fd) -> inode ------------------------------------------------------------------

#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3)
#endif
#define NSFS_MAGIC_NUMBER 0x6e736673
#define PROC_SUPER_MAGIC_NUMBER 0x9fa0

// The inode of the netns an fd refers to (two netns fds name the same netns iff their inodes are
// equal); throws EINVAL when the fd is not a network namespace (NS_GET_NSTYPE, or on kernels before
// 4.11 the file system: nsfs or proc), as ztunnel validates the fd istio-cni sends.
napi_value netns_fd_inode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd;
  if (argc < 1 || !arg_fd(env, argv[0], &fd)) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    throw_errno(env, errno, "fstat", "");
    return NULL;
  }
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type >= 0 && type != CLONE_NEWNET) {
    throw_errno(env, EINVAL, "NS_GET_NSTYPE", "(a namespace, but not a network namespace)");
    return NULL;
  }
  if (type < 0) {
    struct statfs fs;
    if (fstatfs(fd, &fs) < 0 || (fs.f_type != NSFS_MAGIC_NUMBER && fs.f_type != PROC_SUPER_MAGIC_NUMBER)) {
      throw_errno(env, EINVAL, "NS_GET_NSTYPE", "(not a namespace file)");
      return NULL;
    }
  }
  napi_create_double(env, (double)st.st_ino, &result);
  return result;
}

// ---- pollReadable(fd, callback) -> { pause(), resume(), close() } --------------------------------
// callback(err, disconnected) on the event loop while the fd is readable (level-triggered: pause
// while a message is being handled, or it fires again). close() MUST come before the fd is closed.

typedef struct poll_state {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  bool active;
} poll_state;

// What the JS object wraps: outlives the poll (its methods check `poll`), freed with the object.
typedef struct {
  poll_state *poll;
} poll_holder;

static void poll_closed(uv_handle_t *h) {
  poll_state *p = h->data;
  napi_delete_reference(p->env, p->callback);
  napi_async_destroy(p->env, p->context);
  free(p);
}

static void poll_cleanup_hook(void *arg) {
  // The env is going away with the poll still open: stop it; the loop closes with the env.
  poll_state *p = arg;
  uv_poll_stop(&p->handle);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  poll_state *p = h->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2], ignored;
  napi_get_reference_value(env, p->callback, &cb);
  napi_get_global(env, &recv);  // make_callback needs an object receiver
  if (status < 0) argv[0] = errno_error(env, -status, "poll", "");
  else napi_get_null(env, &argv[0]);
  napi_get_boolean(env, status >= 0 && (events & UV_DISCONNECT) != 0, &argv[1]);
  // make_callback: microtasks and nextTicks queued by the callback run before returning, as for
  // any I/O callback; an exception it throws goes to process 'uncaughtException'.
  if (napi_make_callback(env, p->context, recv, cb, 2, argv, &ignored) != napi_ok) {
    // Level-triggered: a callback that keeps failing would be called in a tight loop. Stop
    // watching; the owner sees the error (uncaughtException) and closes the socket.
    uv_poll_stop(&p->handle);
    p->active = false;
    napi_value err;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) {
      napi_close_handle_scope(env, scope);
      return;
    }
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static poll_state *holder_poll(napi_env env, napi_callback_info info) {
  napi_value self;
  poll_holder *holder = NULL;
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  if (napi_unwrap(env, self, (void **)&holder) != napi_ok || holder == NULL) return NULL;
  return holder->poll;
}

static napi_value poll_pause(napi_env env, napi_callback_info info) {
  poll_state *p = holder_poll(env, info);
  if (p != NULL && p->active) {
    uv_poll_stop(&p->handle);
    p->active = false;
  }
  return NULL;
}

static napi_value poll_resume(napi_env env, napi_callback_info info) {
  poll_state *p = holder_poll(env, info);
  if (p != NULL && !p->active) {
    int rc = uv_poll_start(&p->handle, UV_READABLE | UV_DISCONNECT, on_poll);
    if (rc < 0) {
      throw_errno(env, -rc, "poll", "");
      return NULL;
    }
    p->active = true;
  }
  return NULL;
}

static napi_value poll_close(napi_env env, napi_callback_info info) {
  napi_value self;
  poll_holder *holder = NULL;
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  if (napi_unwrap(env, self, (void **)&holder) != napi_ok || holder == NULL || holder->poll == NULL) return NULL;
  poll_state *p = holder->poll;
  holder->poll = NULL;
  napi_remove_env_cleanup_hook(env, poll_cleanup_hook, p);
  uv_poll_stop(&p->handle);
  uv_close((uv_handle_t *)&p->handle, poll_closed);
  return NULL;
}

static void holder_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  // A holder garbage-collected without close(): its poll stays open (the callback reference keeps
  // it alive), as a socket nobody closed would; callers keep the object and close it.
  free(data);
}

napi_value poll_readable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, name;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd;
  if (argc < 2 || !arg_fd(env, argv[0], &fd)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) {
    throw_type(env, "pollReadable(fd, callback): callback must be a function");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, "ERR_NATIVE", "pollReadable: no event loop");
    return NULL;
  }
  poll_state *p = calloc(1, sizeof *p);
  poll_holder *holder = calloc(1, sizeof *holder);
  if (p == NULL || holder == NULL) {
    free(p);
    free(holder);
    throw_errno(env, ENOMEM, "pollReadable", "");
    return NULL;
  }
  int rc = uv_poll_init(loop, &p->handle, fd);
  if (rc < 0) {
    free(p);
    free(holder);
    throw_errno(env, -rc, "poll", "");
    return NULL;
  }
  p->handle.data = p;
  p->env = env;
  napi_create_reference(env, argv[1], 1, &p->callback);
  napi_create_string_utf8(env, "ambit:pollReadable", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &p->context);
  rc = uv_poll_start(&p->handle, UV_READABLE | UV_DISCONNECT, on_poll);
  if (rc < 0) {
    uv_close((uv_handle_t *)&p->handle, poll_closed);
    free(holder);
    throw_errno(env, -rc, "poll", "");
    return NULL;
  }
  p->active = true;
  holder->poll = p;
  napi_add_env_cleanup_hook(env, poll_cleanup_hook, p);
  napi_create_object(env, &result);
  napi_property_descriptor props[] = {
      {"pause", NULL, poll_pause, NULL, NULL, NULL, napi_default, NULL},
      {"resume", NULL, poll_resume, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, poll_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, result, sizeof props / sizeof props[0], props);
  if (napi_wrap(env, result, holder, holder_finalize, NULL, NULL) != napi_ok) {
    napi_remove_env_cleanup_hook(env, poll_cleanup_hook, p);
    uv_poll_stop(&p->handle);
    uv_close((uv_handle_t *)&p->handle, poll_closed);
    free(holder);
    napi_throw_error(env, "ERR_NATIVE", "pollReadable: cannot wrap the handle");
    return NULL;
  }
  return result;
}
