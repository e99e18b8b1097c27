#!/usr/bin/env python3
"""tests/fuzz/make_corpus.py - writes the seed corpus in tests/fuzz/corpus/.

A few valid frames and handshakes per target (layouts: docs/protocol.md;
input formats: the comment at the top of each fuzz_*.c). Deterministic:
rerunning it rewrites the same files.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = b"fuzz@127.0.0.1"   # fuzz_node's node name
PEER = b"peer@127.0.0.1"   # the name it uses for us


def s8(b):
    return bytes([len(b)]) + b


def frame(body):
    return struct.pack(">I", len(body)) + body


def hello(frm=PEER, to=NODE, lo=1, hi=1):
    return b"\x01" + struct.pack(">I", 0x474E5250) + bytes([lo, hi]) + b"\x07" * 32 + s8(frm) + s8(to)


def challenge(name=PEER):
    return b"\x02\x01" + b"\x09" * 32 + s8(name)


def mac(kind):
    return bytes([kind]) + b"\xaa" * 32


def reject(reason, text):
    return bytes([0x05, reason]) + s8(text)


def request(kind, rid, version, module, function, payload):
    return bytes([kind]) + struct.pack(">QI", rid, version) + s8(module) + s8(function) + payload


def reply(rid, payload):
    return b"\x12" + struct.pack(">Q", rid) + payload


def error(rid, err, code, msg):
    return b"\x13" + struct.pack(">QHiH", rid, err, code, len(msg)) + msg


def pb_str(field, b):
    return bytes([field << 3 | 2, len(b)]) + b


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


CALLS = [
    request(0x10, 1, 0, b"test.Test", b"Ping", pb_str(1, b"hello")),
    request(0x10, 2, 1, b"test.Test", b"Echo", pb_str(1, b"\x00\x01\x02" * 10)),
    request(0x10, 3, 0, b"test.Test", b"Sleep", b"\x08\x01\x10\x07"),
    request(0x10, 4, 0, b"test.Test", b"Fail", b"\x08\x2a" + pb_str(2, b"die")),
    request(0x10, 5, 2, b"test.Versioned", b"Which", b""),
    request(0x10, 6, 0, b"test.Nope", b"Ping", b""),
    request(0x10, 7, 0, b"test.Test", b"Secret", b""),
    request(0x10, 8, 0, b"test.Test", b"ReadCount", b""),
    request(0x10, 9, 0, b"test.Test", b"Ping", b"\xff\xff"),
    request(0x11, 10, 0, b"test.Test", b"Count", b"\x08\x05"),
    request(0x11, 11, 0, b"test.Test", b"AppError", pb_str(1, b"oops")),
]
REPLIES = [reply(1, pb_str(1, b"hello")), error(2, 2, 0, b"undefined"), error(3, 5, 42, b"die")]


# ---- protocol version 2 (docs/protocol.md, "Version 2") ----------------------

def md(pairs):
    return b"".join(s8(k) + struct.pack(">H", len(v)) + v for k, v in pairs)


def zstd_raw(data):
    """A zstd frame holding data (< 256 bytes) in one raw block, content
    size declared (single segment): what a compressed payload must be."""
    assert len(data) < 256
    return (struct.pack("<I", 0xFD2FB528) + b"\x20" + bytes([len(data)]) +
            struct.pack("<I", 1 | (len(data) << 3))[:3] + data)


def request2(kind, rid, version, timeout, module, function, payload, meta=b"", zstd=False):
    flags = (1 if meta else 0) | (2 if zstd else 0)
    if zstd:
        payload = zstd_raw(payload)
    block = struct.pack(">H", len(meta)) + meta if meta else b""
    return (bytes([kind]) + struct.pack(">QIIB", rid, version, timeout, flags) + s8(module) +
            s8(function) + block + payload)


def reply2(rid, payload, meta=b"", zstd=False):
    block = struct.pack(">H", len(meta)) + meta if meta else b""
    flags = (1 if meta else 0) | (2 if zstd else 0)
    return b"\x12" + struct.pack(">QB", rid, flags) + block + (zstd_raw(payload) if zstd else payload)


def error2(rid, err, code, msg):
    return b"\x13" + struct.pack(">QHiBH", rid, err, code, 0, len(msg)) + msg


def auth2(kind, settings=()):
    return bytes([kind]) + b"\xaa" * 32 + bytes([len(settings)]) + b"".join(
        struct.pack(">BI", i, v) for i, v in settings)


CALLS2 = [
    request2(0x10, 1, 0, 5000, b"test.Test", b"Ping", pb_str(1, b"hello")),
    request2(0x10, 2, 0, 1, b"test.Test", b"Sleep", b"\x08\x05\x10\x07"),
    b"\x14" + struct.pack(">Q", 2),  # CANCEL 2
    request2(0x10, 3, 0, 0, b"test.Test", b"Echo", pb_str(1, b"x" * 40),
             md([(b"authorization", b"Bearer t"), (b"trace-id", b"\x00\x01")])),
    request2(0x11, 0, 0, 100, b"test.Test", b"Count", b"\x08\x05"),
    request2(0x10, 4, 0, 0, b"calls.Calls", b"Watch", pb_str(1, b"w") + b"\x10\x0a"),
    b"\x14" + struct.pack(">Q", 4),
    request2(0x10, 5, 0, 0, b"test.Test", b"Ping", pb_str(1, b"z" * 100), zstd=True),
    request2(0x10, 6, 0, 0, b"test.Test", b"Echo", pb_str(1, b"y" * 40),
             md([(b"trace-id", b"t")]), zstd=True),
]
REPLIES2 = [reply2(1, pb_str(1, b"hello")), reply2(2, b"", md([(b"server-ms", b"3")])),
            error2(3, 9, 0, b"draining"), b"\x15" + struct.pack(">QB", 1, 1) + s8(b"draining"),
            b"\x15" + struct.pack(">QB", 2**64 - 1, 1) + s8(b""),
            reply2(3, pb_str(1, b"q" * 90), md([(b"k", b"v")]), zstd=True)]


def units(bodies):
    return b"".join(struct.pack(">H", len(b)) + b for b in bodies)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    # fuzz_frame: frame bodies (what the decoders see), and one whole frame.
    for name, body in [("hello", hello()), ("challenge", challenge()), ("auth", mac(0x03)),
                       ("auth_ok", mac(0x04)), ("reject", reject(1, b"invalid_cookie")),
                       ("call", CALLS[0]), ("cast", CALLS[9]), ("reply", REPLIES[0]),
                       ("error", REPLIES[2]), ("framed_call", frame(CALLS[1])),
                       ("call_v2", CALLS2[0]), ("call_v2_metadata", CALLS2[3]),
                       ("reply_v2", REPLIES2[1]), ("error_v2", REPLIES2[2]),
                       ("call_v2_zstd", CALLS2[7]), ("call_v2_zstd_metadata", CALLS2[8]),
                       ("reply_v2_zstd", REPLIES2[5]),
                       ("goaway", REPLIES2[3]), ("cancel", CALLS2[6]),
                       ("auth_v2", auth2(0x03, [(1, 1), (200, 7)])), ("metadata",
                        md([(b"k", b"v"), (b"trace-id", b"abc")]))]:
        write("fuzz_frame", name, body)

    # fuzz_node: mode byte + bytes (see fuzz_node.c).
    write("fuzz_node", "acceptor_hello", b"\x00" + frame(hello()))
    write("fuzz_node", "acceptor_bad_auth", b"\x00" + frame(hello()) + frame(mac(0x03)))
    write("fuzz_node", "acceptor_wrong_node", b"\x00" + frame(hello(to=b"x@h")))
    write("fuzz_node", "acceptor_calls", b"\x02" + b"".join(frame(c) for c in CALLS))
    write("fuzz_node", "acceptor_calls_units", b"\x06" + units(CALLS))
    write("fuzz_node", "acceptor_huge", b"\x02\xff\xff\xff\xff\x10")
    write("fuzz_node", "client_challenge", b"\x01" + frame(challenge()) + frame(mac(0x04)))
    write("fuzz_node", "client_reject", b"\x01" + frame(reject(3, b"wrong node")))
    write("fuzz_node", "client_replies", b"\x03" + b"".join(frame(r) for r in REPLIES))
    write("fuzz_node", "client_replies_units", b"\x07" + units(REPLIES))
    # mode & 8: the handshake agrees on version 2
    write("fuzz_node", "acceptor_calls_v2", b"\x0a" + b"".join(frame(c) for c in CALLS2))
    write("fuzz_node", "acceptor_calls_v2_units", b"\x0e" + units(CALLS2))
    write("fuzz_node", "client_replies_v2_units", b"\x0f" + units(REPLIES2))

    # fuzz_decode: dtest.Everything encodings (tests/proto/decode_test.proto).
    def key(field, wt):
        return varint(field << 3 | wt)
    inner = key(1, 0) + varint(7) + key(2, 2) + s8(b"in") + key(3, 2) + s8(b"\x00\xff") + \
        key(4, 2) + s8(varint(3) + varint(4))
    write("fuzz_decode", "scalars", key(1, 0) + varint(2**64 - 1) + key(2, 0) + varint(5) +
          key(5, 0) + varint(3) + key(7, 5) + b"\x01\x02\x03\x04" +
          key(8, 1) + b"\x01" * 8 + key(11, 5) + b"\x00\x00\x80\x3f" + key(13, 0) + b"\x01" +
          key(14, 0) + b"\x02")
    write("fuzz_decode", "strings", key(15, 2) + s8(b"hello") + key(16, 2) + s8(b"\x00" * 20) +
          key(22, 2) + s8(b"a") + key(22, 2) + s8(b"") + key(23, 2) + s8(b"bytes"))
    write("fuzz_decode", "nested", key(17, 2) + s8(inner) + key(24, 2) + s8(inner) +
          key(24, 2) + s8(b""))
    write("fuzz_decode", "packed", key(20, 2) + s8(varint(1) + varint(300)) +
          key(21, 2) + s8(b"\x00" * 16) + key(25, 2) + s8(b"\x01\x00") + key(26, 2) +
          s8(b"\x00" * 8) + key(27, 2) + s8(b"\x01\x02"))
    write("fuzz_decode", "oneof_map", key(30, 2) + s8(b"o") + key(32, 2) + s8(inner) +
          key(40, 2) + s8(key(1, 2) + s8(b"k") + key(2, 0) + varint(9)) +
          key(536870911, 0) + varint(1))

    # fuzz_options: 0 + ServiceOptions, 1 + MethodOptions.
    version = varint(51001 << 3 | 0) + varint(3)
    module = varint(51002 << 3 | 2) + s8(b"kv.Store")
    internal_module = varint(51003 << 3 | 0) + b"\x01"
    deprecated = varint(33 << 3 | 0) + b"\x01"  # a standard field, not genrpc's
    write("fuzz_options", "service_all", b"\x00" + version + module + internal_module + deprecated)
    write("fuzz_options", "service_module", b"\x00" + module)
    write("fuzz_options", "method_internal", b"\x01" + varint(51101 << 3 | 0) + b"\x01")
    write("fuzz_options", "method_empty", b"\x01")
    write("fuzz_options", "nanopb_options", b"\x02" + b"/* sizes */\nkv.Get*.key max_size:32 "
          b"max_count:4 # c\nkv.*.blob type:FT_STATIC max_size:0x10 fixed_length:true\n"
          b"// c++\nkv.Msg.s max_length: 8 callback_datatype:\"void*\"\n")

    # fuzz_embedded: a byte of sizes, then the server's stream to the
    # embedded client "d" dialling "s" (its HMAC hook returns 32 zero bytes).
    ch = frame(b"\x02\x01" + b"\x11" * 32 + s8(b"s"))
    ok = frame(b"\x04" + b"\x00" * 32)
    write("fuzz_embedded", "call_reply", b"\x07" + ch + ok + frame(reply(1, b"hello")) +
          frame(reply(2, b"")))
    write("fuzz_embedded", "call_error", b"\x23" + ch + ok + frame(reply(1, b"hello")) +
          frame(error(2, 5, 42, b"boom")))
    write("fuzz_embedded", "stale_reply", b"\x3f" + ch + ok + frame(reply(9, b"old")) +
          frame(reply(1, b"hello")))
    write("fuzz_embedded", "oversize", b"\x00" + ch + ok + frame(reply(1, b"hello")) +
          frame(reply(2, b"z" * 3000)))
    write("fuzz_embedded", "reject", b"\x0f" + frame(reject(1, b"invalid_cookie")))


if __name__ == "__main__":
    main()
