#!/usr/bin/env python3
"""Seeds the agent fuzz corpora from the shared captures (../../../shared/pcaps), into corpus/
(not committed: the captures stay where they are). Classic pcap files only; pcapng files seed the
capture_file target as they are."""
import gzip, os, struct, sys

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

# Industrial targets: the payloads of each connection on the protocol's port, as the harness's
# segments (a length byte whose top bit is the direction, then at most 127 bytes).
TCP_TARGETS = {502: "ics_modbus", 44818: "ics_enip", 102: "ics_s7_mms", 20000: "ics_dnp3", 2404: "ics_iec104",
               4840: "ics_opcua", 12001: "ics_opcua", 5094: "ics_hart", 9600: "ics_fins_tcp", 48898: "ics_ads",
               4712: "ics_c37118", 5562: "ics_melsec"}
UDP_TARGETS = {44818: "ics_enip_udp", 9600: "ics_fins", 48899: "ics_ads_discovery", 47808: "ics_bacnet"}


def segments(payload, to_server):
    out = b""
    for i in range(0, len(payload), 127):
        chunk = payload[i:i + 127]
        out += bytes([len(chunk) | (0 if to_server else 0x80)]) + chunk
    return out


for dirpath, _, files in os.walk(root):
    for fn in sorted(files):
        streams = {}
        for i, (lt, fr) in enumerate(frames(os.path.join(dirpath, fn))):
            if lt != 1:
                continue
            etype = fr[12:14]
            if etype in (b"\x88\x92", b"\x88\xb8", b"\x88\xba") and i < 64:
                sel = {b"\x88\x92": 0, b"\x88\xb8": 1, b"\x88\xba": 2}[etype]
                write("ics_layer2", f"{fn}-{i}", bytes([sel]) + fr[14:])
            if etype != b"\x08\x00" or len(fr) < 34:
                continue
            l4 = 14 + (fr[14] & 0x0F) * 4
            sport, dport = struct.unpack(">HH", fr[l4:l4 + 4])
            if fr[23] == 17 and i < 256:
                for port, to_server in ((dport, 0), (sport, 1)):
                    if port in UDP_TARGETS:
                        write(UDP_TARGETS[port], f"{fn}-{i}", bytes([to_server]) + fr[l4 + 8:])
                        break
            elif fr[23] == 6 and len(fr) > l4 + 13:
                payload = fr[l4 + ((fr[l4 + 12] >> 4) * 4):]
                for port, to_server in ((dport, True), (sport, False)):
                    if port in TCP_TARGETS and payload:
                        key = (TCP_TARGETS[port], min(sport, dport), max(sport, dport))
                        if len(streams.get(key, b"")) < 8192:
                            streams[key] = streams.get(key, b"") + segments(payload, to_server)
                        break
        for (target, a, b), blob in streams.items():
            write(target, f"{fn}-{a}-{b}", blob)

print(f"seeded corpora under {out} from {count} captures", file=sys.stderr)

# Host parsers: each fixture file behind the selector byte of its parser (host_parsers.rs).
fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
host_seeds = 0
SELECTORS = [("var/lib/dpkg/status", 0), ("lib/apk/db/installed", 1), ("proc/net/tcp", 3), ("proc/net/udp", 4),
             ("etc/os-release", 5), ("proc/net/route", 6), ("_Packages", 7), ("primary.xml.gz", 8),
             ("updateinfo.xml.gz", 9), ("APKINDEX.", 10), ("secdb/", 11)]
for dirpath, _, files in os.walk(fixtures):
    for fn in sorted(files):
        path = os.path.join(dirpath, fn)
        for needle, sel in SELECTORS:
            if needle in path:
                blob = open(path, "rb").read()
                if sel in (8, 9):
                    blob = gzip.decompress(blob)
                write("host_parsers", f"{sel}-{fn}"[:100], bytes([sel]) + blob)
                host_seeds += 1
                break
write("host_parsers", "12-versions", b"\x0c1.2.3_rc1-r4\n1.2.3-r0")
print(f"{host_seeds} host parser seeds from {fixtures}", file=sys.stderr)
