// Synchronous socket operations of the native addon: socket options (SO_MARK, IP_TRANSPARENT,
// IP_FREEBIND), SO_ORIGINAL_DST, and netns identity (netns file inode, a socket's netns via SIOCGSKNS).

#include "ambit_sockets.h"

// ---- socket options (shared by createSocket and setSocketOptions) ---------------------------


bool parse_sockopts(napi_env env, napi_value obj, sockopts *o) {
  return opt_u32(env, obj, "mark", &o->has_mark, &o->mark) &&
         opt_bool(env, obj, "transparent", &o->has_transparent, &o->transparent) &&
         opt_bool(env, obj, "freebind", &o->has_freebind, &o->freebind) &&
         opt_bool(env, obj, "noDelay", &o->has_nodelay, &o->nodelay) &&
         opt_u32(env, obj, "keepAliveS", &o->has_keepalive, &o->keepalive_s);
}

// Sets a boolean IP-level option that has an IPv4 and an IPv6 spelling; 0 or an errno.
static int set_ip_flag(int fd, int family, bool value, int v4opt, const char *v4step, int v6opt, const char *v6step,
                       const char **step) {
  int on = value ? 1 : 0;
  bool v6 = family == AF_INET6;
  *step = v6 ? v6step : v4step;
  return setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? v6opt : v4opt, &on, sizeof on) < 0 ? errno : 0;
}

// Returns 0 or an errno, with *step naming the option that failed. Runs on any thread.
int apply_sockopts(int fd, int family, const sockopts *o, const char **step) {
  int err;
  if (o->has_mark) {
    *step = "setsockopt SO_MARK";
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &o->mark, sizeof o->mark) < 0) return errno;
  }
  if (o->has_transparent &&
      (err = set_ip_flag(fd, family, o->transparent, IP_TRANSPARENT, "setsockopt IP_TRANSPARENT", IPV6_TRANSPARENT,
                         "setsockopt IPV6_TRANSPARENT", step)) != 0)
    return err;
  if (o->has_freebind &&
      (err = set_ip_flag(fd, family, o->freebind, IP_FREEBIND, "setsockopt IP_FREEBIND", IPV6_FREEBIND,
                         "setsockopt IPV6_FREEBIND", step)) != 0)
    return err;
  int on = 1;
  if (o->has_nodelay) {
    int v = o->nodelay ? 1 : 0;
    *step = "setsockopt TCP_NODELAY";
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0) return errno;
  }
  if (o->has_keepalive && o->keepalive_s > 0) {
    // What libuv's uv_tcp_keepalive(1, delay) sets on Linux (Node's setKeepAlive): probes after
    // `delay` idle seconds, then every second, 10 of them.
    int idle = (int)o->keepalive_s, intvl = 1, cnt = 10;
    *step = "setsockopt SO_KEEPALIVE";
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0) return errno;
    *step = "setsockopt TCP_KEEPIDLE";
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) < 0) return errno;
    *step = "setsockopt TCP_KEEPINTVL";
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) < 0) return errno;
    *step = "setsockopt TCP_KEEPCNT";
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) < 0) return errno;
  }
  return 0;
}

// A non-blocking, close-on-exec TCP socket of `family` (4|6) in the current thread's netns, with
// `o` applied. Returns the fd, or -1 with *err/*step set (nothing left open).
int open_socket(int family, const sockopts *o, int *err, const char **step) {
  int domain = family == 6 ? AF_INET6 : AF_INET;
  *step = "socket";
  int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  if ((*err = apply_sockopts(fd, domain, o, step)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
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
bool parse_ip(const char *ip, int port, int family, struct sockaddr_storage *out, socklen_t *len) {
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

napi_value original_dst(napi_env env, napi_callback_info info) {
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

napi_value set_socket_options(napi_env env, napi_callback_info info) {
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
napi_value get_socket_options(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd, family = 0, err, mark, transparent, freebind, nodelay, keepalive, keepidle;
  if (argc < 1 || !arg_fd(env, argv[0], &fd)) return NULL;
  if ((err = socket_family(fd, &family)) != 0) {
    throw_errno(env, err, "getsockname", "");
    return NULL;
  }
  bool v6 = family == AF_INET6;
  if ((err = get_int_opt(fd, SOL_SOCKET, SO_MARK, &mark)) ||
      (err = get_int_opt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &transparent)) ||
      (err = get_int_opt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_FREEBIND : IP_FREEBIND, &freebind)) ||
      (err = get_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay)) || (err = get_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive)) ||
      (err = get_int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepidle))) {
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
  napi_get_boolean(env, nodelay != 0, &v);
  napi_set_named_property(env, obj, "noDelay", v);
  napi_create_uint32(env, keepalive != 0 ? (uint32_t)keepidle : 0, &v);
  napi_set_named_property(env, obj, "keepAliveS", v);
  return obj;
}

// ---- bindSocket(fd, { ip, port }) -------------------------------------------------------------
// Binds an existing socket (a pooled one, made earlier inside a pod netns). Safe on the main thread:
// a socket's netns is fixed when it is created, so bind() resolves the address in that netns.

napi_value bind_socket(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], vip, vport;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd, family = 0, err;
  if (argc < 2) {
    throw_type(env, "bindSocket(fd, { ip, port }) needs two arguments");
    return NULL;
  }
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  char ip[INET6_ADDRSTRLEN];
  size_t n;
  int32_t port = 0;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_object || !has_prop(env, argv[1], "ip", &vip) || napi_get_value_string_utf8(env, vip, ip, sizeof ip, &n) != napi_ok) {
    throw_type(env, "bindSocket: ip must be an IP address string");
    return NULL;
  }
  if (has_prop(env, argv[1], "port", &vport) && (napi_get_value_int32(env, vport, &port) != napi_ok || port < 0 || port > 65535)) {
    throw_type(env, "bindSocket: port must be an integer 0..65535");
    return NULL;
  }
  if ((err = socket_family(fd, &family)) != 0) {
    throw_errno(env, err, "getsockname", "");
    return NULL;
  }
  int fam = family == AF_INET6 ? 6 : 4;
  struct sockaddr_storage addr;
  socklen_t len;
  if (!parse_ip(ip, port, fam, &addr, &len)) {
    char m[160];
    snprintf(m, sizeof m, "bindSocket: '%s' is not an IPv%d address", ip, fam);
    throw_type(env, m);
    return NULL;
  }
  if (bind(fd, (struct sockaddr *)&addr, len) < 0) {
    err = errno;
    char text[INET6_ADDRSTRLEN + 8];
    snprintf(text, sizeof text, fam == 6 ? "[%s]:%d" : "%s:%d", ip, port);
    throw_errno(env, err, "bind", text);
  }
  return NULL;
}

// ---- socketNetnsInode(path) / netnsInodeOfSocket(fd) ------------------------------------------

napi_value socket_netns_inode(napi_env env, napi_callback_info info) {
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
napi_value netns_inode_of_socket(napi_env env, napi_callback_info info) {
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

// Closes an fd this addon handed out and nobody adopted. Node's fs.closeSync would do, but inside a
// worker thread it warns for every fd that fs did not open itself. Closing twice is the caller's bug:
// EBADF is thrown, as fs.closeSync would.
napi_value close_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd;
  if (argc < 1) {
    throw_type(env, "closeSocket(fd) needs one argument");
    return NULL;
  }
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (close(fd) < 0 && errno != EINTR) {
    throw_errno(env, errno, "close", "");
    return NULL;
  }
  return NULL;
}
