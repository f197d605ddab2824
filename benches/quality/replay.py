"""Real-time replay of a classic pcap's UDP payloads to a local UDP port, at the
capture's own inter-arrival times (the live input of the GStreamer reference)."""

import socket
import struct
import time


def read_pcap_udp(path):
    """(time_s, udp_payload) of every IPv4/UDP packet in a classic (µs) pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0xA1B2C3D4:
        endian, scale = "<", 1e-6
    elif magic == 0xD4C3B2A1:
        endian, scale = ">", 1e-6
    elif magic == 0xA1B23C4D:
        endian, scale = "<", 1e-9
    else:
        raise ValueError(f"{path}: not a classic pcap")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise ValueError(f"{path}: link type {linktype}, expected Ethernet")
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off : off + 16])
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        if len(frame) < 42 or frame[12:14] != b"\x08\x00":
            continue
        ihl = (frame[14] & 0x0F) * 4
        if frame[23] != 17:
            continue
        udp = 14 + ihl
        ulen = struct.unpack(">H", frame[udp + 4 : udp + 6])[0]
        out.append((sec + frac * scale, frame[udp + 8 : udp + ulen]))
    return out


def replay(path, port, host="127.0.0.1"):
    """Sends the capture's UDP payloads to host:port in real time; returns the
    wall-clock spread (s) between intended and actual send times (max lateness)."""
    packets = read_pcap_udp(path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = packets[0][0]
    start = time.perf_counter()
    worst = 0.0
    for t, payload in packets:
        due = start + (t - t0)
        while True:
            now = time.perf_counter()
            left = due - now
            if left <= 0:
                break
            if left > 0.002:
                time.sleep(left - 0.0015)
        worst = max(worst, time.perf_counter() - due)
        sock.sendto(payload, (host, port))
    sock.close()
    return worst
