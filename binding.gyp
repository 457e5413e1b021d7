{
  "targets": [
    {
      "target_name": "ambit_sockets",
      "sources": ["native/ambit_sockets.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "conditions": [["OS!='linux'", {"type": "none", "sources": []}]]
    }
  ]
}
