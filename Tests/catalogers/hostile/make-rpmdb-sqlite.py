#!/usr/bin/env python3
"""Writes hostile and oversized rpmdb.sqlite files with the real SQLite (Python's sqlite3) for the hostile
cataloger tests: python3 make-rpmdb-sqlite.py OUT_DIR ROWS. Files written:
  recursive-view.sqlite  Packages is a recursive VIEW (an endless `WITH RECURSIVE` counting rows)
  trigger.sqlite         rpm's Packages table plus a trigger named evil_trigger
  generated.sqlite       Packages with a generated `blob` column
  many-rows.sqlite       rpm's Packages table with ROWS valid minimal headers (pkg-0 ... pkg-N)
"""
import os
import sqlite3
import struct
import sys


def header(name: str) -> bytes:
    """A minimal rpm header blob (as rpm databases store it): NAME, VERSION, RELEASE strings."""
    data = b""
    entries = []
    for tag, value in ((1000, name), (1001, "1.0"), (1002, "1")):
        entries.append(struct.pack(">IIiI", tag, 6, len(data), 1))
        data += value.encode() + b"\0"
    return struct.pack(">II", len(entries), len(data)) + b"".join(entries) + data


def make(path: str, sql: list[str], rows=()):
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    for statement in sql:
        db.execute(statement)
    if rows:
        db.executemany("INSERT INTO Packages(blob) VALUES (?)", rows)
    db.commit()
    db.close()


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    rpm_table = "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)"
    make(os.path.join(out, "recursive-view.sqlite"), [
        "CREATE VIEW Packages AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT zeroblob(8) AS blob FROM r"])
    make(os.path.join(out, "trigger.sqlite"), [
        rpm_table, "CREATE TABLE log (x)",
        "CREATE TRIGGER evil_trigger AFTER INSERT ON Packages BEGIN INSERT INTO log VALUES (1); END"],
        [(header("pkg-t"),)])
    make(os.path.join(out, "generated.sqlite"), [
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, seed BLOB, blob BLOB AS (seed || seed || seed))",
        "INSERT INTO Packages(seed) VALUES (x'00')"])
    make(os.path.join(out, "many-rows.sqlite"), [rpm_table], [(header(f"pkg-{i}"),) for i in range(count)])


if __name__ == "__main__":
    main()
