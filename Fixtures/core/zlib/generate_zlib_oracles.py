#!/usr/bin/env python3
"""Writes Fixtures/core/zlib: what Python's zlib and gzip modules (the zlib C library) say, as
committed oracles for the core tests, which link no zlib themselves.

    python3 Fixtures/core/zlib/generate_zlib_oracles.py

(Python's standard library only. The CRC-32 values never change; the compressed bytes may differ
with another zlib release, which is harmless: the tests only need some valid stream per case.)

Files
-----
crc32_vectors.json   zlib.crc32(data, seed) for a few inputs and seeds, with the standard check
                     value CRC-32("123456789") = 0xCBF43926 among them. Tests/EffNetTests/
                     CRC32Tests.swift checks its bitwise reference CRC and every CEffNetCRC32
                     implementation against them.
payload.bin          40 KiB, deterministic: text, random bytes (all 256 literals), long runs
                     (length-258 matches at distance 1) and a block repeated from ~32 KiB back
                     (a distance near the 32768 limit). The expected output of every payload.*.gz.
payload.level0.gz    gzip.compress(level 0): one stored block.
payload.stored.gz    zlib level 0 with Z_FULL_FLUSH every 16384 bytes: several stored blocks.
payload.level1.gz, payload.level6.gz, payload.level9.gz   gzip.compress at those levels
                     (dynamic Huffman blocks).
payload.fixed.gz     zlib, strategy Z_FIXED: fixed-Huffman blocks only.
payload.huffman.gz   zlib, strategy Z_HUFFMAN_ONLY: literals only, no matches.
payload.rle.gz       zlib, strategy Z_RLE: matches at distance 1 only.
payload.flushed.gz   zlib level 6 with Z_FULL_FLUSH every 5000 bytes: many blocks, each flush
                     an empty stored block (LEN 0), so stored and compressed blocks alternate.
empty.gz             gzip.compress(b""): one fixed block holding only end-of-block.
named.gz             gzip.GzipFile with a file name and an mtime (header field FNAME).
extras.gz            a raw deflate stream (zlib, wbits -15) of "hello, extras\n" wrapped by hand
                     in a gzip header with FEXTRA, FNAME, FCOMMENT and FHCRC set (Python's gzip
                     writes none but FNAME), with its CRC-32 and ISIZE trailer from zlib.crc32.
gzip_cases.json      for each .gz: the expected output file, or the expected text.
"""
import gzip
import io
import json
import os
import random
import struct
import zlib

OUT = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def payload():
    rng = random.Random(1951)
    words = ["deflate", "huffman", "stored", "block", "literal", "length", "distance", "window",
             "efficientnet", "tensor", "weights", "gzip", "member", "trailer", "crc", "isize"]
    text = " ".join(rng.choice(words) for _ in range(1800)).encode()   # ~13 KiB, compressible
    noise = bytes(rng.randrange(256) for _ in range(6000))              # incompressible literals
    runs = b"\x00" * 3000 + b"ab" * 700 + b"\xff" * 1000                 # long matches, distance 1-2
    head = bytes(rng.randrange(256) for _ in range(512))
    data = head + text + noise + runs
    data += bytes(rng.randrange(256) for _ in range(32700 - len(data)))
    data += head                                                         # 32700 bytes back: near the 32768 limit
    data += text[:4000] + noise[:1000]
    data += bytes(range(256)) * 8
    return data


def zlib_gzip(data, level=6, strategy=zlib.Z_DEFAULT_STRATEGY, flush_every=None):
    c = zlib.compressobj(level, zlib.DEFLATED, 16 + 15, 8, strategy)  # wbits 16+15: gzip wrapper
    out = b""
    step = flush_every or len(data) or 1
    for i in range(0, len(data), step):
        out += c.compress(data[i:i + step])
        if flush_every:
            out += c.flush(zlib.Z_FULL_FLUSH)
    return out + c.flush()


def extras_member(text):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = c.compress(text) + c.flush()
    flags = 0x04 | 0x08 | 0x10 | 0x02  # FEXTRA FNAME FCOMMENT FHCRC
    header = bytes([0x1F, 0x8B, 8, flags]) + struct.pack("<I", 1_700_000_000) + bytes([2, 3])
    extra = b"EN" + struct.pack("<H", 5) + b"test!"
    header += struct.pack("<H", len(extra)) + extra
    header += b"extras.txt\x00" + b"a comment\x00"
    header += struct.pack("<H", zlib.crc32(header) & 0xFFFF)
    return header + raw + struct.pack("<II", zlib.crc32(text), len(text) & 0xFFFFFFFF)


def main():
    data = payload()
    write("payload.bin", data)
    cases = {}
    for level in (0, 1, 6, 9):
        write(f"payload.level{level}.gz", gzip.compress(data, compresslevel=level, mtime=0))
    write("payload.stored.gz", zlib_gzip(data, 0, flush_every=16384))
    write("payload.fixed.gz", zlib_gzip(data, 6, zlib.Z_FIXED))
    write("payload.huffman.gz", zlib_gzip(data, 6, zlib.Z_HUFFMAN_ONLY))
    write("payload.rle.gz", zlib_gzip(data, 6, zlib.Z_RLE))
    write("payload.flushed.gz", zlib_gzip(data, 6, flush_every=5000))
    for name in ("level0", "stored", "level1", "level6", "level9", "fixed", "huffman", "rle", "flushed"):
        cases[f"payload.{name}.gz"] = {"file": "payload.bin"}
    write("empty.gz", gzip.compress(b"", mtime=0))
    cases["empty.gz"] = {"text": ""}
    buf = io.BytesIO()
    with gzip.GzipFile(filename="named.txt", mode="wb", fileobj=buf, mtime=1_600_000_000) as g:
        g.write(b"a member with a file name\n")
    write("named.gz", buf.getvalue())
    cases["named.gz"] = {"text": "a member with a file name\n"}
    write("extras.gz", extras_member(b"hello, extras\n"))
    cases["extras.gz"] = {"text": "hello, extras\n"}
    for name, case in cases.items():  # every stream is valid for Python's own reader
        expected = open(os.path.join(OUT, case["file"]), "rb").read() if "file" in case else case["text"].encode()
        assert gzip.decompress(open(os.path.join(OUT, name), "rb").read()) == expected, name
    with open(os.path.join(OUT, "gzip_cases.json"), "w") as f:
        json.dump({"source": f"Python {'.'.join(map(str, __import__('sys').version_info[:3]))} gzip/zlib, "
                             f"zlib {zlib.ZLIB_RUNTIME_VERSION} (generate_zlib_oracles.py)",
                   "cases": cases}, f, indent=1, sort_keys=True)
        f.write("\n")

    inputs = [
        ("empty", b"", 0),
        ("check value", b"123456789", 0),
        ("a", b"a", 0),
        ("abc", b"abc", 0),
        ("quick brown fox", b"The quick brown fox jumps over the lazy dog", 0),
        ("32 zeros", b"\x00" * 32, 0),
        ("32 0xff", b"\xff" * 32, 0),
        ("bytes 0-255", bytes(range(256)), 0),
        ("1000 pseudo-random bytes", bytes(random.Random(32).randrange(256) for _ in range(1000)), 0),
        ("check value, seeded", b"123456789", 0x12345678),
        ("continuation: 'world' after crc('hello ')", b"world", zlib.crc32(b"hello ")),
        ("empty, seeded (the seed comes back)", b"", 0xDEADBEEF),
    ]
    vectors = [{"name": n, "hex": d.hex(), "seed": f"{s:08x}", "crc32": f"{zlib.crc32(d, s):08x}"}
               for n, d, s in inputs]
    assert vectors[1]["crc32"] == "cbf43926"
    assert vectors[10]["crc32"] == f"{zlib.crc32(b'hello world'):08x}"
    with open(os.path.join(OUT, "crc32_vectors.json"), "w") as f:
        json.dump({"source": f"zlib.crc32(bytes.fromhex(hex), int(seed, 16)), Python zlib "
                             f"{zlib.ZLIB_RUNTIME_VERSION} (generate_zlib_oracles.py)",
                   "vectors": vectors}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
