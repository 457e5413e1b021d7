// Native socket primitives Node core lacks, for transparent capture: SO_ORIGINAL_DST, SO_MARK,
// IP_TRANSPARENT/FREEBIND, and sockets created inside another network namespace (setns).
//
// Node-API only (node_api.h, NAPI_VERSION 8): the binary is independent of the Node ABI.
// Invariant: setns(CLONE_NEWNET) runs ONLY on a libuv threadpool thread (napi async work), which
// always returns to its original netns before the work item ends; failing that we abort, because a
// pooled thread left in a pod netns would silently run unrelated work (fs, dns) in that pod.

#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

// From linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h (not included: they clash
// with glibc's netinet/in.h). Both are 80.
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif
#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894C
#endif

// ---- errors ---------------------------------------------------------------------------------

static const char *errno_name(int err) {
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
static napi_value errno_error(napi_env env, int err, const char *step, const char *detail) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s failed%s%s: %s (%s)", step, detail[0] ? " " : "", detail, errno_name(err), strerror(err));
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

static void throw_errno(napi_env env, int err, const char *step, const char *detail) {
  napi_throw(env, errno_error(env, err, step, detail));
}

static bool throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

// ---- argument helpers (return false with a pending exception) -------------------------------

static bool arg_fd(napi_env env, napi_value v, int *fd) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number || napi_get_value_int32(env, v, fd) != napi_ok || *fd < 0)
    return throw_type(env, "fd must be a non-negative integer");
  return true;
}

static bool has_prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  bool has = false;
  napi_has_named_property(env, obj, name, &has);
  if (!has) return false;
  napi_get_named_property(env, obj, name, out);
  napi_valuetype t;
  napi_typeof(env, *out, &t);
  return t != napi_undefined && t != napi_null;
}

// Optional boolean option: absent => *present=false; wrong type => exception.
static bool opt_bool(napi_env env, napi_value obj, const char *name, bool *present, bool *out) {
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

static bool opt_u32(napi_env env, napi_value obj, const char *name, bool *present, uint32_t *out) {
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

// ---- socket options (shared by createSocket and setSocketOptions) ---------------------------

typedef struct {
  bool has_mark, has_transparent, has_freebind;
  uint32_t mark;
  bool transparent, freebind;
} sockopts;

static bool parse_sockopts(napi_env env, napi_value obj, sockopts *o) {
  return opt_u32(env, obj, "mark", &o->has_mark, &o->mark) &&
         opt_bool(env, obj, "transparent", &o->has_transparent, &o->transparent) &&
         opt_bool(env, obj, "freebind", &o->has_freebind, &o->freebind);
}

// Returns 0 or an errno, with *step naming the option that failed. Runs on any thread.
static int apply_sockopts(int fd, int family, const sockopts *o, const char **step) {
  int on;
  if (o->has_mark) {
    *step = "setsockopt SO_MARK";
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &o->mark, sizeof o->mark) < 0) return errno;
  }
  if (o->has_transparent) {
    on = o->transparent ? 1 : 0;
    if (family == AF_INET6) {
      *step = "setsockopt IPV6_TRANSPARENT";
      if (setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &on, sizeof on) < 0) return errno;
    } else {
      *step = "setsockopt IP_TRANSPARENT";
      if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof on) < 0) return errno;
    }
  }
  if (o->has_freebind) {
    on = o->freebind ? 1 : 0;
    if (family == AF_INET6) {
      *step = "setsockopt IPV6_FREEBIND";
      if (setsockopt(fd, SOL_IPV6, IPV6_FREEBIND, &on, sizeof on) < 0) return errno;
    } else {
      *step = "setsockopt IP_FREEBIND";
      if (setsockopt(fd, SOL_IP, IP_FREEBIND, &on, sizeof on) < 0) return errno;
    }
  }
  return 0;
}

static int socket_family(int fd, int *family) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return errno;
  *family = ss.ss_family;
  return 0;
}

// ---- address helpers -------------------------------------------------------------------------

static napi_value addr_object(napi_env env, const struct sockaddr *sa) {
  char ip[INET6_ADDRSTRLEN];
  int port;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
    port = ntohs(s4->sin_port);
  } else {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
    port = ntohs(s6->sin6_port);
  }
  napi_value obj, vip, vport;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, ip, NAPI_AUTO_LENGTH, &vip);
  napi_create_int32(env, port, &vport);
  napi_set_named_property(env, obj, "ip", vip);
  napi_set_named_property(env, obj, "port", vport);
  return obj;
}

// Parses an IP for a socket of `family` (4|6); an IPv4 address on an IPv6 socket becomes
// ::ffff:a.b.c.d so dual-stack sockets can bind it.
static bool parse_ip(const char *ip, int port, int family, struct sockaddr_storage *out, socklen_t *len) {
  memset(out, 0, sizeof *out);
  if (family == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)out;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *len = sizeof *s4;
    return inet_pton(AF_INET, ip, &s4->sin_addr) == 1;
  }
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
  s6->sin6_family = AF_INET6;
  s6->sin6_port = htons((uint16_t)port);
  *len = sizeof *s6;
  if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) return true;
  struct in_addr a4;
  if (inet_pton(AF_INET, ip, &a4) != 1) return false;
  s6->sin6_addr.s6_addr[10] = 0xff;
  s6->sin6_addr.s6_addr[11] = 0xff;
  memcpy(&s6->sin6_addr.s6_addr[12], &a4, 4);
  return true;
}

// ---- originalDst(fd) -------------------------------------------------------------------------

static napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], undef;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_undefined(env, &undef);
  int fd, family = 0, err;
  if (argc < 1 || !arg_fd(env, argv[0], &fd)) return NULL;
  if ((err = socket_family(fd, &family)) != 0) {
    throw_errno(env, err, "getsockname", "");
    return NULL;
  }
  // IPv4 first: it also answers for IPv4-mapped connections on a dual-stack IPv6 socket.
  struct sockaddr_in s4;
  socklen_t len = sizeof s4;
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &s4, &len) == 0) return addr_object(env, (struct sockaddr *)&s4);
  err = errno;
  if (family == AF_INET6 && (err == ENOENT || err == ENOPROTOOPT)) {
    struct sockaddr_in6 s6;
    len = sizeof s6;
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &s6, &len) == 0) return addr_object(env, (struct sockaddr *)&s6);
    err = errno;
  }
  // ENOENT: no conntrack entry (not redirected); ENOPROTOOPT: conntrack not loaded, so nothing
  // can have been redirected either. Neither is an error for the caller.
  if (err == ENOENT || err == ENOPROTOOPT) return undef;
  throw_errno(env, err, "getsockopt SO_ORIGINAL_DST", "");
  return NULL;
}

// ---- setSocketOptions(fd, opts) / getSocketOptions(fd) ---------------------------------------

static napi_value set_socket_options(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd, family = 0, err;
  sockopts o = {0};
  if (argc < 2) {
    throw_type(env, "setSocketOptions(fd, options) needs two arguments");
    return NULL;
  }
  if (!arg_fd(env, argv[0], &fd) || !parse_sockopts(env, argv[1], &o)) return NULL;
  if ((err = socket_family(fd, &family)) != 0) {
    throw_errno(env, err, "getsockname", "");
    return NULL;
  }
  const char *step = "";
  if ((err = apply_sockopts(fd, family, &o, &step)) != 0) throw_errno(env, err, step, "");
  return NULL;
}

static int get_int_opt(int fd, int level, int name, int *out) {
  socklen_t len = sizeof *out;
  *out = 0;
  return getsockopt(fd, level, name, out, &len) < 0 ? errno : 0;
}

// Reads back what setSocketOptions sets (for diagnostics and tests).
static napi_value get_socket_options(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd, family = 0, err, mark, transparent, freebind;
  if (argc < 1 || !arg_fd(env, argv[0], &fd)) return NULL;
  if ((err = socket_family(fd, &family)) != 0) {
    throw_errno(env, err, "getsockname", "");
    return NULL;
  }
  bool v6 = family == AF_INET6;
  if ((err = get_int_opt(fd, SOL_SOCKET, SO_MARK, &mark)) ||
      (err = get_int_opt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &transparent)) ||
      (err = get_int_opt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_FREEBIND : IP_FREEBIND, &freebind))) {
    throw_errno(env, err, "getsockopt", "");
    return NULL;
  }
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_uint32(env, (uint32_t)mark, &v);
  napi_set_named_property(env, obj, "mark", v);
  napi_get_boolean(env, transparent != 0, &v);
  napi_set_named_property(env, obj, "transparent", v);
  napi_get_boolean(env, freebind != 0, &v);
  napi_set_named_property(env, obj, "freebind", v);
  napi_create_int32(env, v6 ? 6 : 4, &v);
  napi_set_named_property(env, obj, "family", v);
  return obj;
}

// ---- socketNetnsInode(path) / netnsInodeOfSocket(fd) ------------------------------------------

static napi_value socket_netns_inode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  size_t n = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n) != napi_ok) {
    throw_type(env, "path must be a string");
    return NULL;
  }
  struct stat st;
  if (stat(path, &st) < 0) {
    throw_errno(env, errno, "stat", path);
    return NULL;
  }
  napi_create_double(env, (double)st.st_ino, &result);
  return result;
}

// The inode of the netns a socket lives in (ioctl SIOCGSKNS, Linux >= 4.9, needs CAP_NET_ADMIN).
static napi_value netns_inode_of_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd;
  if (argc < 1 || !arg_fd(env, argv[0], &fd)) return NULL;
  int nsfd = ioctl(fd, SIOCGSKNS);
  if (nsfd < 0) {
    throw_errno(env, errno, "ioctl SIOCGSKNS", "");
    return NULL;
  }
  struct stat st;
  int rc = fstat(nsfd, &st), err = errno;
  close(nsfd);
  if (rc < 0) {
    throw_errno(env, err, "fstat", "netns of socket");
    return NULL;
  }
  napi_create_double(env, (double)st.st_ino, &result);
  return result;
}

// ---- createSocket(opts, callback) ------------------------------------------------------------

typedef struct {
  napi_async_work work;
  napi_ref callback;
  char *netns;  // NULL: the calling thread's (= process's) netns
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
  free(r->netns);
  free(r);
}

// Creates and configures the socket in whatever netns the current thread is in.
static void build_socket(create_req *r) {
  int domain = r->family == 6 ? AF_INET6 : AF_INET, on = 1, fd;
  r->step = "socket";
  fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    r->err = errno;
    return;
  }
  if ((r->err = apply_sockopts(fd, domain, &r->opts, &r->step)) != 0) goto fail;
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
fail:
  close(fd);
}

// Threadpool thread. MUST leave the thread in the netns it found it in.
static void create_execute(napi_env env, void *data) {
  (void)env;
  create_req *r = data;
  r->fd = -1;
  if (r->netns == NULL) {
    build_socket(r);
    return;
  }
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    r->err = errno;
    r->step = "open /proc/thread-self/ns/net";
    return;
  }
  int target = open(r->netns, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    r->err = errno;
    r->step = "open netns";
    close(self);
    return;
  }
  int rc = setns(target, CLONE_NEWNET);
  int err = errno;
  close(target);
  if (rc < 0) {
    r->err = err;
    r->step = "setns";
    close(self);
    return;
  }
  build_socket(r);
  if (setns(self, CLONE_NEWNET) < 0) {
    fprintf(stderr, "ambit_sockets: FATAL: cannot restore the threadpool thread's netns after entering %s: %s; aborting\n",
            r->netns, strerror(errno));
    abort();
  }
  close(self);
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
    char detail[4200];
    bool at_bind = r->has_bind && strcmp(r->step, "bind") == 0;
    snprintf(detail, sizeof detail, "%s%s%s%s", at_bind ? r->bind_text : "", at_bind && r->netns ? " " : "",
             r->netns ? "in netns " : "", r->netns ? r->netns : "");
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
  if (has_prop(env, o, "netns", &v)) {
    size_t n;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok || n == 0 || n > 4095)
      return throw_type(env, "option netns must be a non-empty path string");
    r->netns = malloc(n + 1);
    napi_get_value_string_utf8(env, v, r->netns, n + 1, &n);
  }
  int32_t family = 0;
  if (!has_prop(env, o, "family", &v) || napi_get_value_int32(env, v, &family) != napi_ok || (family != 4 && family != 6))
    return throw_type(env, "option family must be 4 or 6");
  r->family = family;
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
      {"setSocketOptions", NULL, set_socket_options, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getSocketOptions", NULL, get_socket_options, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketNetnsInode", NULL, socket_netns_inode, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsInodeOfSocket", NULL, netns_inode_of_socket, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
