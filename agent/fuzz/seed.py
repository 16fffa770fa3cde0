#!/usr/bin/env python3
"""Seeds the agent fuzz corpora from the shared captures (../../../shared/pcaps), into corpus/
(not committed: the captures stay where they are). Classic pcap files only; pcapng files seed the
capture_file target as they are."""
import os, struct, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "pcaps", "dev")
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def frames(path):
    data = open(path, "rb").read()
    if len(data) < 24:
        return
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if endian is None:
        return
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        yield linktype, data[off + 16:off + 16 + incl]
        off += 16 + incl


def write(target, name, blob):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


count = 0
for dirpath, _, files in os.walk(root):
    for fn in sorted(files):
        path = os.path.join(dirpath, fn)
        if os.path.getsize(path) <= 64 * 1024 and fn.endswith((".pcap", ".pcapng", ".cap")):
            write("capture_file", fn, open(path, "rb").read())
        seq = b""
        for i, (lt, fr) in enumerate(frames(path)):
            if lt == 1 and len(seq) < 16 * 1024:
                seq += struct.pack(">H", len(fr)) + fr
            if lt == 1 and i < 64:
                write("decode", f"{fn}-{i}", b"\x00" + fr)
                # Transport payloads for the dissector targets: past Ethernet+IPv4+TCP/UDP headers.
                if len(fr) > 34 and fr[12:14] == b"\x08\x00":
                    ihl = (fr[14] & 0x0F) * 4
                    l4 = 14 + ihl
                    if fr[23] == 17:
                        write("frame_dissectors", f"{fn}-{i}", bytes([i % 11]) + fr[l4 + 8:])
                    elif fr[23] == 6 and len(fr) > l4 + 13:
                        payload = fr[l4 + ((fr[l4 + 12] >> 4) * 4):]
                        if payload:
                            write("stream_dissectors", f"{fn}-{i}", bytes([i % 10]) + payload)
                if fr[12:14] in (b"\x88\xcc",):
                    write("frame_dissectors", f"{fn}-{i}-lldp", b"\x00" + fr[14:])
        if seq:
            write("pipeline", fn, seq)
            count += 1
print(f"seeded corpora under {out} from {count} captures", file=sys.stderr)
