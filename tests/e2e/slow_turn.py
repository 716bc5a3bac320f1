# A TURN relay stand-in for tests that need a candidate to arrive late
# (lines_flows' candidate_sdp_mid): it grants every Allocate late, so the
# server's relayed candidate is trickled after its answer.

import asyncio
import hashlib
import hmac
import struct
import zlib


class SlowTurnServer(asyncio.DatagramProtocol):
    """A TURN relay stand-in (RFC 5766, UDP, long-term credentials) at
    flows.json's `ice.turn_servers` address that grants every Allocate
    late, with a relayed address of its own (127.0.0.6): the server gathers
    its relay candidate after its answer went out (it waits 1 s for
    gathering), so it must trickle it as an `ice_candidate` event (host
    candidates all travel inside the answer). Nothing is relayed: checks on
    that candidate fail, the host pair carries the call."""

    ADDRESS = ("127.0.0.1", 3478)  # flows.json
    RELAYED_IP = bytes([127, 0, 0, 6])
    COOKIE = 0x2112A442
    KEY = hashlib.md5(b"flows:flows:flows").digest()  # username:realm:password, flows.json
    SUCCESS = {0x0003: 0x0103, 0x0004: 0x0104, 0x0008: 0x0108, 0x0009: 0x0109}  # allocate, refresh, permission, bind

    # After the server's answer (it waits 1 s for gathering), before libnice
    # gives the allocation up (about 2 s after its first Allocate).
    def __init__(self, delay_s=1.4):
        self.delay_s = delay_s
        self.transport = None
        self.allocations = 0
        self.replies = []  # timer handles of the late replies

    @classmethod
    async def start(cls):
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(cls, local_addr=cls.ADDRESS)
        return protocol

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, address):
        if len(data) < 20 or struct.unpack("!I", data[4:8])[0] != self.COOKIE:
            return
        method = struct.unpack("!H", data[:2])[0]
        if method not in self.SUCCESS:
            return
        transaction_id = data[8:20]
        if 0x0008 not in self.attribute_types(data):  # no MESSAGE-INTEGRITY: challenge (long-term credentials)
            error = struct.pack("!HBB", 0, 4, 1) + b"Unauthorized" + struct.pack("!HH", 0x0014, 5) + b"flows\0\0\0" \
                + struct.pack("!HH", 0x0015, 8) + b"n0nce-01"
            attributes = struct.pack("!HH", 0x0009, 16) + error
            self.transport.sendto(self.finish(method | 0x0110, transaction_id, attributes, key=None), address)
            return
        attributes = b""
        if method == 0x0003:
            self.allocations += 1
            attributes += self.xor_address(0x0016, self.RELAYED_IP, 40000 + self.allocations)
            attributes += self.xor_address(0x0020, bytes([127, 0, 0, 1]), address[1])
        if method in (0x0003, 0x0004):
            attributes += struct.pack("!HHI", 0x000D, 4, 600)  # LIFETIME
        reply = self.finish(self.SUCCESS[method], transaction_id, attributes, key=self.KEY)
        delay = self.delay_s if method == 0x0003 else 0
        self.replies.append(asyncio.get_running_loop().call_later(delay, self.transport.sendto, reply, address))

    @staticmethod
    def attribute_types(data):
        types, position = [], 20
        while position + 4 <= len(data):
            kind, length = struct.unpack("!HH", data[position:position + 4])
            types.append(kind)
            position += 4 + (length + 3) // 4 * 4
        return types

    def finish(self, message_type, transaction_id, attributes, key):
        """The message with MESSAGE-INTEGRITY (HMAC-SHA1 with `key`, the
        length counting it) when a key is given, then FINGERPRINT."""
        if key is not None:
            header = struct.pack("!HHI", message_type, len(attributes) + 24, self.COOKIE) + transaction_id
            attributes += struct.pack("!HH", 0x0008, 20) + hmac.new(key, header + attributes, hashlib.sha1).digest()
        header = struct.pack("!HHI", message_type, len(attributes) + 8, self.COOKIE) + transaction_id
        crc = (zlib.crc32(header + attributes) ^ 0x5354554E) & 0xFFFFFFFF
        return header + attributes + struct.pack("!HHI", 0x8028, 4, crc)

    def xor_address(self, kind, ip, port):
        xaddress = bytes(a ^ b for a, b in zip(ip, struct.pack("!I", self.COOKIE)))
        return struct.pack("!HHBBH", kind, 8, 0, 1, port ^ (self.COOKIE >> 16)) + xaddress

    def close(self):
        for reply in self.replies:
            reply.cancel()
        if self.transport:
            self.transport.close()
