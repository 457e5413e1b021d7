{
  "targets": [
    {
      "target_name": "ambit_sockets",
      "sources": ["native/ambit_sockets.c", "native/socket_ops.c", "native/socket_batch.c", "native/netns_thread.c", "native/napi_helpers.c", "native/seqpacket.c", "native/heap_trim.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2", "-fvisibility=hidden"],
      "conditions": [["OS!='linux'", {"type": "none", "sources": []}]]
    }
  ]
}
