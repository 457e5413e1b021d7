// Shared declarations of the native socket addon (ambit_sockets.c, socket_ops.c, napi_helpers.c).
// Node-API only (node_api.h, NAPI_VERSION 8): the binary is independent of the Node ABI.

#ifndef AMBIT_SOCKETS_H
#define AMBIT_SOCKETS_H

#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

// errors: Error objects with code = errno name, errno, syscall = the failing step
const char *errno_name(int err);
napi_value errno_error(napi_env env, int err, const char *step, const char *detail);
void throw_errno(napi_env env, int err, const char *step, const char *detail);
bool throw_type(napi_env env, const char *msg);

// argument helpers: return false with a pending JS exception
bool arg_fd(napi_env env, napi_value v, int *fd);
bool has_prop(napi_env env, napi_value obj, const char *name, napi_value *out);
bool opt_bool(napi_env env, napi_value obj, const char *name, bool *present, bool *out);
bool opt_u32(napi_env env, napi_value obj, const char *name, bool *present, uint32_t *out);

// socket options shared by createSocket and setSocketOptions
typedef struct {
  bool has_mark, has_transparent, has_freebind, has_nodelay, has_keepalive;
  uint32_t mark;
  bool transparent, freebind, nodelay;
  uint32_t keepalive_s;  // TCP_KEEPIDLE, seconds (with SO_KEEPALIVE, libuv's interval and count)
} sockopts;
bool parse_sockopts(napi_env env, napi_value obj, sockopts *o);
int apply_sockopts(int fd, int family, const sockopts *o, const char **step);
int open_socket(int family, const sockopts *o, int *err, const char **step);
bool parse_ip(const char *ip, int port, int family, struct sockaddr_storage *out, socklen_t *len);

// netns_thread.c: enter/leave a netns on the current thread (threadpool only), option parsing.
// A netns named by path (malloc'd, opened per entry) or by an fd the caller keeps open; path NULL
// and fd -1 name the calling thread's own netns.
typedef struct {
  char *path;
  int fd;
  bool owns_fd;  // fd is the addon's dup of the caller's netnsFd (closed by free_netns_ref)
  int dup_err;   // dup of netnsFd failed (errno): reported as a setns failure, nothing entered
} netns_ref;
void free_netns_ref(netns_ref *ns);
int enter_netns(const netns_ref *ns, int *err, const char **step);
void leave_netns(int self, const netns_ref *ns);
const char *netns_label(const netns_ref *ns, char *buf, size_t size);
bool parse_netns_family(napi_env env, napi_value o, netns_ref *ns, int *family);
bool run_in_netns(const netns_ref *ns, int *err, const char **step, void (*fn)(void *), void *arg);
void netns_error_detail(char *out, size_t size, const char *step, const char *prefix, const netns_ref *ns);

// exported functions (socket_batch.c)
napi_value create_sockets(napi_env env, napi_callback_info info);

// exported functions (socket_ops.c)
napi_value original_dst(napi_env env, napi_callback_info info);
napi_value bind_socket(napi_env env, napi_callback_info info);
napi_value set_socket_options(napi_env env, napi_callback_info info);
napi_value get_socket_options(napi_env env, napi_callback_info info);
napi_value socket_netns_inode(napi_env env, napi_callback_info info);
napi_value netns_inode_of_socket(napi_env env, napi_callback_info info);
napi_value close_socket(napi_env env, napi_callback_info info);
napi_value netns_fd_inode(napi_env env, napi_callback_info info);

// exported functions (seqpacket.c): the ZDS client's Unix SOCK_SEQPACKET socket
napi_value seqpacket_connect(napi_env env, napi_callback_info info);
napi_value seqpacket_send(napi_env env, napi_callback_info info);
napi_value seqpacket_recv(napi_env env, napi_callback_info info);
napi_value poll_readable(napi_env env, napi_callback_info info);

// exported functions (heap_trim.c): glibc malloc_trim(0) on the threadpool
napi_value trim_heap(napi_env env, napi_callback_info info);

#endif
