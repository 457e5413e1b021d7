#!/usr/bin/env python3
# The istio-cni side of ZDS for the netns tests, written independently of Ambit: it listens on a
# Unix SOCK_SEQPACKET socket, encodes the istio.workload.zds messages itself (a minimal protobuf
# codec below, no python3-protobuf), hands pod netns fds over with SCM_RIGHTS, and installs the
# in-pod redirect rules as istio-cni does (its documented rule set, not Ambit's generator).
#
# Driven by the test over stdin/stdout, one JSON object per line: commands carry an "id" and get
# one answer with that id; {"event": ...} lines report what the agent did on its own (connected,
# said hello, closed the connection). Like istio-cni it keeps a pod cache and replays it on every
# new connection (Add with the netns fd, Keep for pods without one, then SnapshotSent), waiting
# for each Ack with a 5 s deadline.

import json
import os
import selectors
import socket
import subprocess
import sys

ACK_TIMEOUT_S = 5.0
RECV_BYTES = 1024  # istio-cni reads answers into 1024 bytes too

# ---- protobuf wire format (proto3), just what ZDS needs ---------------------------------------


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, payload):
    return varint((num << 3) | 2) + varint(len(payload)) + payload


def field_str(num, text):
    return field_bytes(num, text.encode()) if text else b""


def fields(data):
    """Yields (number, wire type, value) of a message; value is int (varint) or bytes (LEN)."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(data, i)
        elif wt == 2:
            n, i = read_varint(data, i)
            v, i = data[i:i + n], i + n
        elif wt == 5:
            v, i = data[i:i + 4], i + 4
        elif wt == 1:
            v, i = data[i:i + 8], i + 8
        else:
            raise ValueError("unsupported wire type %d" % wt)
        yield num, wt, v


def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


# WorkloadRequest: add = 1, del = 2, snapshot_sent = 3, keep = 5. AddWorkload{uid = 1,
# workload_info = 2{name = 1, namespace = 2, service_account = 3}}; KeepWorkload{uid = 1};
# DelWorkload{uid = 2} (sic).
def add_request(uid, name, namespace, sa, with_info=True):
    info = field_str(1, name) + field_str(2, namespace) + field_str(3, sa)
    return field_bytes(1, field_str(1, uid) + (field_bytes(2, info) if with_info else b""))


def keep_request(uid):
    return field_bytes(5, field_str(1, uid))


def del_request(uid):
    return field_bytes(2, field_str(2, uid))


def snapshot_sent_request():
    return field_bytes(3, b"")


def decode_ack(data):
    """WorkloadResponse{ack = 1: Ack{error = 1}} -> the error string ('' = success)."""
    for num, wt, v in fields(data):
        if num == 1 and wt == 2:
            return "".join(v2.decode() for n2, w2, v2 in fields(v) if n2 == 1 and w2 == 2)
    raise ValueError("WorkloadResponse without an ack: %s" % data.hex())


def decode_hello(data):
    """ZdsHello{version = 1} -> the version number (0 when absent)."""
    return next((v for num, wt, v in fields(data) if num == 1 and wt == 0), 0)


# ---- istio-cni's in-pod redirect rules (IPv4) --------------------------------------------------
# From istio-cni's documented in-pod rule set: packets with ztunnel's mark 0x539/0xfff (1337) are
# never redirected and set the connection mark 0x111; kubelet probes SNATed to 169.254.7.127 pass;
# inbound TCP except to 15008 goes to 15006 (TPROXY, so the original destination is the local
# address); 15008 reaches the proxy's listener directly; outbound TCP not to 127.0.0.1 goes to
# 15001 (REDIRECT, original destination by SO_ORIGINAL_DST); replies of connections marked 0x111
# are routed locally (ip rule fwmark 0x111 lookup 100) back to the proxy's transparent socket.
RULES = """*mangle
:ISTIO_PRERT - [0:0]
:ISTIO_OUTPUT - [0:0]
-A PREROUTING -j ISTIO_PRERT
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_PRERT -m mark --mark 0x539/0xfff -j CONNMARK --set-xmark 0x111/0xfff
-A ISTIO_PRERT -s 169.254.7.127/32 -p tcp -m tcp -j ACCEPT
-A ISTIO_PRERT ! -d 127.0.0.1/32 -i lo -p tcp -j ACCEPT
-A ISTIO_PRERT -p tcp -m tcp --dport 15008 -j ACCEPT
-A ISTIO_PRERT -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ISTIO_PRERT ! -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x539/0xfff -j TPROXY --on-port 15006 --on-ip 0.0.0.0 --tproxy-mark 0x111/0xfff
-A ISTIO_OUTPUT -m connmark --mark 0x111/0xfff -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff
COMMIT
*nat
:ISTIO_OUTPUT - [0:0]
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_OUTPUT -d 169.254.7.127/32 -p tcp -m tcp -j ACCEPT
-A ISTIO_OUTPUT -p tcp -m mark --mark 0x111/0xfff -j ACCEPT
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -j ACCEPT
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001
COMMIT
"""


def install_rules(netns):
    def run(argv, stdin=None):
        r = subprocess.run(["nsenter", "--net=" + netns] + argv, input=stdin, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv), r.stderr.strip()))
    run(["iptables-restore", "--noflush", "--wait", "10"], RULES)
    run(["ip", "rule", "add", "fwmark", "0x111/0xfff", "pref", "32764", "lookup", "100"])
    run(["ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "100"])


# ---- the server --------------------------------------------------------------------------------


class Closed(Exception):
    pass


class Cni:
    def __init__(self, path):
        self.path = path
        self.pods = {}  # uid -> {"netns": path or None, "name", "namespace", "sa"}
        self.listener = None
        self.conn = None
        self.connections = 0
        self.sel = selectors.DefaultSelector()
        self.sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
        self.listen()

    def emit(self, obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def listen(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.bind(self.path)
        s.listen(8)
        self.listener = s
        self.sel.register(s, selectors.EVENT_READ, "listener")

    def stop_listening(self):
        self.drop_conn()
        if self.listener:
            self.sel.unregister(self.listener)
            self.listener.close()
            self.listener = None
        if os.path.exists(self.path):
            os.unlink(self.path)

    def drop_conn(self):
        if self.conn:
            self.sel.unregister(self.conn)
            self.conn.close()
            self.conn = None

    # One request and its Ack. fds: netns paths whose fds go along (SCM_RIGHTS).
    def request(self, payload, netns_paths=()):
        if not self.conn:
            raise Closed("not connected")
        fds = [os.open(p, os.O_RDONLY | os.O_CLOEXEC) for p in netns_paths]
        try:
            if fds:
                socket.send_fds(self.conn, [payload], fds)
            else:
                self.conn.send(payload)
        finally:
            for fd in fds:
                os.close(fd)
        self.conn.settimeout(ACK_TIMEOUT_S)
        try:
            data = self.conn.recv(RECV_BYTES)
        except socket.timeout:
            raise Closed("no ack within %ss" % ACK_TIMEOUT_S)
        finally:
            self.conn.settimeout(None)
        if not data:
            self.drop_conn()
            raise Closed("the agent closed the connection")
        return decode_ack(data)

    def add_payload(self, uid):
        p = self.pods[uid]
        return add_request(uid, p["name"], p["namespace"], p["sa"])

    def on_connect(self):
        conn, _ = self.listener.accept()
        self.drop_conn()  # istio-cni serves one node agent
        self.conn = conn
        self.connections += 1
        conn.settimeout(ACK_TIMEOUT_S)
        hello = conn.recv(RECV_BYTES)
        conn.settimeout(None)
        self.emit({"event": "hello", "version": decode_hello(hello), "connection": self.connections})
        self.sel.register(conn, selectors.EVENT_READ, "conn")
        acks = {}
        try:
            for uid, p in list(self.pods.items()):
                if p["netns"]:
                    acks[uid] = self.request(self.add_payload(uid), [p["netns"]])
                else:
                    acks[uid] = self.request(keep_request(uid))
            snapshot = self.request(snapshot_sent_request())
            self.emit({"event": "snapshot", "connection": self.connections, "acks": acks, "ack": snapshot})
        except Closed as e:
            self.emit({"event": "snapshot-failed", "connection": self.connections, "acks": acks, "error": str(e)})

    def on_conn_readable(self):
        data = self.conn.recv(RECV_BYTES)
        if not data:
            self.drop_conn()
            self.emit({"event": "closed"})
        else:
            self.emit({"event": "unsolicited", "hex": data.hex()})

    def command(self, c):
        op = c["op"]
        if op == "add":
            self.pods[c["uid"]] = {"netns": c.get("netns"), "name": c["name"], "namespace": c["namespace"], "sa": c["sa"]}
            if not self.conn:
                return {"queued": True}
            return {"ack": self.request(self.add_payload(c["uid"]), [c["netns"]] if c.get("netns") else [])}
        if op == "del":
            self.pods.pop(c["uid"], None)
            if not self.conn:
                return {"queued": True}
            return {"ack": self.request(del_request(c["uid"]))}
        if op == "forget":  # the pod went away while the agent was not connected
            self.pods.pop(c["uid"], None)
            return {}
        if op == "drop-netns":  # istio-cni lost the pod's netns (restart): Keep instead of Add on replay
            self.pods[c["uid"]]["netns"] = None
            return {}
        if op == "raw":  # any bytes, any fds: for protocol errors
            return {"ack": self.request(bytes.fromhex(c["hex"]), c.get("fds", []))}
        if op == "encode":  # a well-formed request with a chosen fd, for protocol errors
            kind, uid = c["kind"], c.get("uid", "")
            payload = {
                "add": lambda: add_request(uid, c.get("name", ""), c.get("namespace", ""), c.get("sa", ""), c.get("info", True)),
                "keep": lambda: keep_request(uid),
                "del": lambda: del_request(uid),
                "snapshot": snapshot_sent_request,
            }[kind]()
            return {"ack": self.request(payload, c.get("fds", []))}
        if op == "rules":
            install_rules(c["netns"])
            return {}
        if op == "restart":  # istio-cni restarting: socket gone (optionally for a while), then back
            self.stop_listening()
            if not c.get("stay_down"):
                self.listen()
            return {}
        if op == "listen":
            if not self.listener:
                self.listen()
            return {}
        if op == "status":
            return {"connected": self.conn is not None, "connections": self.connections, "pods": sorted(self.pods)}
        raise ValueError("unknown op %r" % op)

    def run(self):
        self.emit({"event": "listening", "path": self.path})
        buf = ""
        while True:
            for key, _ in self.sel.select():
                if key.data == "listener":
                    self.on_connect()
                elif key.data == "conn":
                    self.on_conn_readable()
                else:
                    chunk = os.read(sys.stdin.fileno(), 65536).decode()
                    if not chunk:
                        self.stop_listening()
                        return
                    buf += chunk
                    while "\n" in buf:
                        line, buf = buf.split("\n", 1)
                        if line.strip():
                            self.handle_line(line)

    def handle_line(self, line):
        c = json.loads(line)
        try:
            out = self.command(c)
            out["id"] = c["id"]
        except Closed as e:
            out = {"id": c["id"], "closed": True, "error": str(e)}
        except Exception as e:  # report, keep serving
            out = {"id": c["id"], "error": "%s: %s" % (type(e).__name__, e)}
        self.emit(out)


if __name__ == "__main__":
    Cni(sys.argv[sys.argv.index("--socket") + 1]).run()
