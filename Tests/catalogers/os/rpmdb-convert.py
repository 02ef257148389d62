#!/usr/bin/env python3
"""Re-stores the header blobs of an rpmdb.sqlite in rpm's older database formats, for the rpm cataloger tests.

  rpmdb-convert.py db-load-text RPMDB COPIES [big]   db5.3_load -T input on stdout: record 0 (rpm's next
                                                     header number) and each header COPIES times, keyed by
                                                     4-byte header numbers (little-endian, or big-endian)
  rpmdb-convert.py ndb RPMDB COPIES OUT              an NDB Packages.db laid out as rpm's rpmpkg.c writes it

No NDB writer exists on Debian (its rpm is built without ndb), so the NDB file is written here, field by
field from lib/backend/ndb/rpmpkg.c: a 32-byte header (RpmP, version 0, generation, slot pages, next package
index), 16-byte slots (Slot, package index, block offset, block count; block offset 0 = free), then blobs in
16-byte blocks framed by a head (BlbS, package index, timestamp, length) and a tail (adler32 over head, blob
and padding; length; BlbE).
"""
import sqlite3
import struct
import sys
import zlib


def header_blobs(path):
    con = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return [bytes(row[0]) for row in con.execute("SELECT blob FROM Packages ORDER BY hnum")]
    finally:
        con.close()


def escape(data):
    return "".join("\\%02x" % b for b in data)


def db_load_text(blobs, copies, big):
    order = ">I" if big else "<I"
    records = [blob for _ in range(copies) for blob in blobs]
    lines = [escape(struct.pack(order, 0)), escape(struct.pack(order, len(records) + 1))]
    for number, blob in enumerate(records, start=1):
        lines += [escape(struct.pack(order, number)), escape(blob)]
    sys.stdout.write("\n".join(lines) + "\n")


PAGE, SLOT, BLOCK = 4096, 16, 16
MAGIC, SLOT_MAGIC, HEAD_MAGIC, TAIL_MAGIC = b"RpmP", b"Slot", b"BlbS", b"BlbE"


def ndb(blobs, copies, out):
    records = [blob for _ in range(copies) for blob in blobs]
    # Every seventh slot is left free, as deletions leave them.
    layout = []
    for i, blob in enumerate(records):
        if i % 7 == 3:
            layout.append(None)
        layout.append(blob)
    pages = (2 + len(layout) + PAGE // SLOT - 1) // (PAGE // SLOT)
    slots = bytearray(pages * PAGE)
    blob_area = bytearray()
    block = pages * PAGE // BLOCK
    index = 1
    for slot_number in range(2, pages * PAGE // SLOT):
        k = slot_number - 2
        entry = layout[k] if k < len(layout) else None
        at = slot_number * SLOT
        if entry is None:
            slots[at:at + SLOT] = SLOT_MAGIC + bytes(12)
            continue
        count = (16 + len(entry) + 12 + BLOCK - 1) // BLOCK
        head = HEAD_MAGIC + struct.pack("<III", index, 1700000000, len(entry))
        body = head + entry + bytes(count * BLOCK - 16 - len(entry) - 12)
        tail = struct.pack("<II", zlib.adler32(body, 1), len(entry)) + TAIL_MAGIC
        blob_area += body + tail
        slots[at:at + SLOT] = SLOT_MAGIC + struct.pack("<III", index, block, count)
        block += count
        index += 1
    slots[0:32] = MAGIC + struct.pack("<IIII", 0, 1, pages, index) + bytes(12)
    with open(out, "wb") as f:
        f.write(slots + blob_area)


def main(argv):
    if len(argv) >= 3 and argv[0] == "db-load-text":
        db_load_text(header_blobs(argv[1]), int(argv[2]), len(argv) > 3 and argv[3] == "big")
    elif len(argv) == 4 and argv[0] == "ndb":
        ndb(header_blobs(argv[1]), int(argv[2]), argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
