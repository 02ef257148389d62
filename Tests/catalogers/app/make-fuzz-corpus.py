#!/usr/bin/env python3
"""Writes the seed inputs of the zip, elf and npm fuzz targets (Tests/Fuzz/corpus/<target>/): small jars
(nested, stored and deflated, zip64 extra fields, a launch-script prefix, a data descriptor), tiny ELF
files carrying Go build info in the inline (Go 1.18+) and pointer (older) formats, and package.json files.

    Tests/catalogers/app/make-fuzz-corpus.py
"""
import io
import os
import struct
import zipfile

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
corpus = os.path.join(root, "Tests/Fuzz/corpus")


def write(target, name, data):
    os.makedirs(os.path.join(corpus, target), exist_ok=True)
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


# zip ---------------------------------------------------------------------------------------------
def jar(entries, zip64=False):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            info.compress_type = method
            with z.open(info, "w", force_zip64=zip64) as f:
                f.write(data.encode() if isinstance(data, str) else data)
    return buf.getvalue()


D, S = zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED
mf = "Manifest-Version: 1.0\r\nImplementation-Title: lib\r\nImplementation-Version: 1.0\r\n\r\n"
pom = "groupId=org.ex\nartifactId=lib\nversion=1.0\n"
lib = jar([("META-INF/MANIFEST.MF", mf, D), ("META-INF/maven/org.ex/lib/pom.properties", pom, D)])
write("zip", "library.jar", lib)
write("zip", "nested.jar", jar([("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: Apache Maven Bundle Plugin\r\nBundle-SymbolicName: org.ex.app\r\n\r\n", D),
                                ("BOOT-INF/lib/lib-1.0.jar", lib, S),
                                ("WEB-INF/lib/other-2.0.jar", jar([("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n", S)]), D),
                                ("META-INF/maven/com.shaded/dep/pom.properties", "groupId=com.shaded\nartifactId=dep\nversion=3\n", D)]))
write("zip", "zip64-extra.jar", jar([("META-INF/MANIFEST.MF", mf, D), ("META-INF/maven/org.ex/lib/pom.properties", pom, S)], zip64=True))
write("zip", "launch-script.jar", b"#!/bin/sh\nexec java -jar \"$0\"\n" + lib)


class NoSeek(io.RawIOBase):
    """Python's zipfile writes data descriptors (flag bit 3, sizes after the data) to unseekable streams,
    as the JDK's jar tool does."""
    def __init__(self):
        self.buf = io.BytesIO()

    def writable(self):
        return True

    def write(self, b):
        return self.buf.write(b)


stream = NoSeek()
with zipfile.ZipFile(stream, "w", compression=D) as z:
    z.writestr("META-INF/MANIFEST.MF", mf)
    z.writestr("META-INF/maven/org.ex/lib/pom.properties", pom)
write("zip", "data-descriptor.jar", stream.buf.getvalue())
write("zip", "weave.jar", jar([("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nWeave-Classes: x\r\n\r\n", D)]))


# elf ---------------------------------------------------------------------------------------------
def go_elf(is64, big, inline, version, modinfo):
    e = ">" if big else "<"
    w = 8 if is64 else 4
    base = 0x400000
    data_off = 0x200
    sentinel_start = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
    sentinel_end = bytes.fromhex("f932433186182072008242104116d8f2")
    mod = sentinel_start + modinfo.encode() + sentinel_end

    def uvarint(n):
        out = b""
        while True:
            b = n & 0x7F
            n >>= 7
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                return out

    header = b"\xff Go buildinf:" + bytes([w, (2 if inline else 0) | (1 if big else 0)])
    if inline:
        blob = header + b"\0" * 16 + uvarint(len(version)) + version.encode() + uvarint(len(mod)) + mod + b"\0"
    else:
        p = "Q" if is64 else "I"
        vhdr, mhdr = 32, 32 + 2 * w
        vbytes = 32 + 4 * w
        mbytes = vbytes + len(version)
        blob = header + struct.pack(e + p + p, base + data_off + vhdr, base + data_off + mhdr)
        blob += b"\0" * (32 - len(blob))
        blob += struct.pack(e + p + p, base + data_off + vbytes, len(version)) + struct.pack(e + p + p, base + data_off + mbytes, len(mod))
        blob += version.encode() + mod
    shstr = b"\0.go.buildinfo\0.shstrtab\0"
    sh_off = data_off + len(blob) + len(shstr)
    sh_off += (-sh_off) % 8
    ehsize, phsize, shsize = (64, 56, 64) if is64 else (52, 32, 40)
    if is64:
        eh = struct.pack(e + "HHIQQQIHHHHHH", 2, 62, 1, base, ehsize, sh_off, 0, ehsize, phsize, 1, shsize, 3, 2)
        ph = struct.pack(e + "IIQQQQQQ", 1, 6, data_off, base + data_off, base + data_off, len(blob), len(blob), 16)
    else:
        eh = struct.pack(e + "HHIIIIIHHHHHH", 2, 8, 1, base, ehsize, sh_off, 0, ehsize, phsize, 1, shsize, 3, 2)
        ph = struct.pack(e + "IIIIIIII", 1, data_off, base + data_off, base + data_off, len(blob), len(blob), 6, 16)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if big else 1, 1]) + b"\0" * 9
    f = bytearray(ident + eh + ph)
    f += b"\0" * (data_off - len(f))
    f += blob + shstr
    f += b"\0" * (sh_off - len(f))

    def sh(name, typ, addr, off, size):
        if is64:
            return struct.pack(e + "IIQQQQIIQQ", name, typ, 3, addr, off, size, 0, 0, 16, 0)
        return struct.pack(e + "IIIIIIIIII", name, typ, 3, addr, off, size, 0, 0, 16, 0)

    f += sh(0, 0, 0, 0, 0)
    f += sh(1, 1, base + data_off, data_off, len(blob))
    f += sh(15, 3, 0, data_off + len(blob), len(shstr))
    return bytes(f)


modinfo = ("path\tex.org/cmd\nmod\tex.org/cmd\t(devel)\t\ndep\tgolang.org/x/text\tv0.14.0\th1:ScX5w1eTa3QqT8oi6+ziP7dTV1S2+ALU0bI+0zXKWiQ=\n"
           "dep\tex.org/old\tv1.0.0\n=>\tex.org/new\tv1.1.0\th1:abc=\ndep\tex.org/local\tv0.0.0\n=>\t../local\t\t\n"
           "build\t-ldflags=\"-X main.version=1.2.3\"\nbuild\tGOARCH=amd64\nbuild\tvcs.revision=0123456789abcdef0123\nbuild\tvcs.time=2024-01-02T03:04:05Z\n")
write("elf", "inline-le64", go_elf(True, False, True, "go1.22.1", modinfo))
write("elf", "inline-be32", go_elf(False, True, True, "go1.21.0 X:boringcrypto", modinfo))
write("elf", "pointer-le64", go_elf(True, False, False, "go1.16.15", modinfo))
write("elf", "pointer-be32", go_elf(False, True, False, "go1.10", modinfo))

# npm ---------------------------------------------------------------------------------------------
write("npm", "plain", '{"name":"lodash","version":"4.17.21","license":"MIT"}')
write("npm", "scoped", '{\n  "name": "@babel/core",\n  "version": "7.24.0",\n  "private": true,\n  "licenses": [{"type": "MIT"}]\n}\n')
write("npm", "workspace", '{"name":"root","private":true,"workspaces":["packages/*"],"dependencies":{"a":"^1"}}')
write("npm", "escapes", '{"name":"\\u0061b\\"c","version":"1.0.0-rc.1+b\\n","author":{"name":"x"},"x":[1,2.5e3,true,null,{}]}')
print(corpus)
