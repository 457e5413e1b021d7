// trimHeap(callback): glibc's malloc_trim(0) on a libuv threadpool thread, so memory the allocator
// keeps after a burst (the main arena's brk heap grows to tens of MB during bulk transfer and glibc
// only returns its top on free) goes back to the kernel without blocking the event loop.
//
// malloc_trim(0) walks EVERY arena (main and per-thread, glibc malloc.c `__malloc_trim` loops the
// arena list) and madvise(MADV_DONTNEED)s the whole free pages inside each heap, not just its top;
// each arena is locked while it is walked, so a thread allocating from that arena waits that long.
// Outside glibc (musl, other libcs) there is nothing to call: the callback gets released = false.

#include "ambit_sockets.h"

#ifdef __GLIBC__
#include <malloc.h>
#include <time.h>
// mallinfo2 (size_t fields) is glibc >= 2.33; older glibc has only int-sized mallinfo: no figures.
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)
#define AMBIT_HAVE_MALLINFO2 1
#endif
#endif

typedef struct {
  napi_async_work work;
  napi_ref callback;
  bool released;
  bool have_info;
  // mallinfo2 before and after: arena = bytes obtained with brk/mmap for the arenas' heaps (all
  // arenas), fordblks = bytes in free chunks (whose whole pages the trim gives back).
  double arena_before, free_before, arena_after, free_after;
  double duration_ms;  // malloc_trim alone (mallinfo2 walks excluded), monotonic clock
} trim_req;

static void trim_execute(napi_env env, void *data) {
  (void)env;
  trim_req *r = data;
#ifdef __GLIBC__
#ifdef AMBIT_HAVE_MALLINFO2
  struct mallinfo2 a = mallinfo2();
  r->arena_before = (double)a.arena;
  r->free_before = (double)a.fordblks;
#endif
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  r->released = malloc_trim(0) != 0;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  r->duration_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
#ifdef AMBIT_HAVE_MALLINFO2
  struct mallinfo2 b = mallinfo2();
  r->arena_after = (double)b.arena;
  r->free_after = (double)b.fordblks;
  r->have_info = true;
#endif
#else
  r->released = false;
#endif
}

static void set_number(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

static void trim_complete(napi_env env, napi_status status, void *data) {
  trim_req *r = data;
  napi_value cb, global, argv[2], ignored, released;
  napi_get_reference_value(env, r->callback, &cb);
  napi_get_global(env, &global);
  if (status == napi_cancelled) {
    argv[0] = errno_error(env, ECANCELED, "trimHeap (cancelled)", "");
    napi_get_undefined(env, &argv[1]);
  } else {
    napi_get_null(env, &argv[0]);
    napi_create_object(env, &argv[1]);
    napi_get_boolean(env, r->released, &released);
    napi_set_named_property(env, argv[1], "released", released);
#ifdef __GLIBC__
    napi_get_boolean(env, true, &released);
#else
    napi_get_boolean(env, false, &released);
#endif
    napi_set_named_property(env, argv[1], "glibc", released);
    set_number(env, argv[1], "durationMs", r->duration_ms);
    if (r->have_info) {
      set_number(env, argv[1], "arenaBytesBefore", r->arena_before);
      set_number(env, argv[1], "freeBytesBefore", r->free_before);
      set_number(env, argv[1], "arenaBytesAfter", r->arena_after);
      set_number(env, argv[1], "freeBytesAfter", r->free_after);
    }
  }
  napi_call_function(env, global, cb, 2, argv, &ignored);
  napi_delete_reference(env, r->callback);
  napi_delete_async_work(env, r->work);
  free(r);
}

napi_value trim_heap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], name;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_function) {
    throw_type(env, "trimHeap(callback): callback must be a function");
    return NULL;
  }
  trim_req *r = calloc(1, sizeof *r);
  if (r == NULL) {
    throw_errno(env, ENOMEM, "trimHeap", "");
    return NULL;
  }
  napi_create_reference(env, argv[0], 1, &r->callback);
  napi_create_string_utf8(env, "ambit:trimHeap", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, trim_execute, trim_complete, r, &r->work) != napi_ok ||
      napi_queue_async_work(env, r->work) != napi_ok) {
    if (r->work) napi_delete_async_work(env, r->work);
    napi_delete_reference(env, r->callback);
    free(r);
    napi_throw_error(env, "ERR_NATIVE", "trimHeap: could not queue async work");
  }
  return NULL;
}
