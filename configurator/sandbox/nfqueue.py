"""nfnetlink_queue messages as bytes: binding a queue, reading packet ids, giving verdicts (pure, struct only).

The kernel side is net/netfilter/nfnetlink_queue.c; the layouts below are those of
include/uapi/linux/netfilter/nfnetlink_queue.h. Headers of netlink itself are in host byte order,
nfnetlink's own fields (queue number, packet id, verdict, configuration values) in network byte order.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5
SO_RCVBUFFORCE = 33  # root may pass net.core.rmem_max

NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NLMSG_DONE = 3

SUBSYS_QUEUE = 3
MSG_PACKET = 0
MSG_VERDICT = 1
MSG_CONFIG = 2

CFG_CMD = 1
CFG_PARAMS = 2
CFG_QUEUE_MAXLEN = 3
CFG_MASK = 4
CFG_FLAGS = 5
CMD_BIND = 1
COPY_META = 1  # the packet's metadata, no payload: its id is all a delay needs
FLAG_FAIL_OPEN = 1  # a full queue lets packets through instead of dropping them
FLAG_GSO = 4  # a large TCP send stays one packet (and one verdict) instead of being segmented first

PACKET_HDR = 1
VERDICT_HDR = 2
NF_DROP = 0
NF_ACCEPT = 1

_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_NFGENMSG = struct.Struct(">BBH")  # family, version, queue number
_NLATTR = struct.Struct("=HH")  # length, type
_ATTR_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER


@dataclass(frozen=True)
class Message:
    """One netlink message read from the socket: its type and what follows its header."""

    kind: int
    sequence: int
    payload: bytes


def _align(length: int) -> int:
    return (length + 3) & ~3


def attribute(kind: int, value: bytes) -> bytes:
    """One netlink attribute, padded to four bytes."""
    length = _NLATTR.size + len(value)
    return _NLATTR.pack(length, kind) + value + bytes(_align(length) - length)


def message(kind: int, queue: int, attributes: bytes, sequence: int = 0, flags: int = NLM_F_REQUEST) -> bytes:
    """An nfnetlink_queue message (`kind` is MSG_CONFIG or MSG_VERDICT) for queue number `queue`."""
    body = _NFGENMSG.pack(socket.AF_UNSPEC, 0, queue) + attributes
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), SUBSYS_QUEUE << 8 | kind, flags, sequence, 0) + body


def bind(queue: int, maxlen: int, sequence: int = 1) -> bytes:
    """Bind `queue` to this socket: metadata only, at most `maxlen` packets held, fail open, GSO kept whole."""
    flags = FLAG_FAIL_OPEN | FLAG_GSO
    attributes = (
        attribute(CFG_CMD, struct.pack(">BxH", CMD_BIND, socket.AF_INET))
        + attribute(CFG_PARAMS, struct.pack(">IB", 0, COPY_META))
        + attribute(CFG_QUEUE_MAXLEN, struct.pack(">I", maxlen))
        + attribute(CFG_FLAGS, struct.pack(">I", flags))
        + attribute(CFG_MASK, struct.pack(">I", flags))
    )
    return message(MSG_CONFIG, queue, attributes, sequence, NLM_F_REQUEST | NLM_F_ACK)


def verdict(queue: int, packet_id: int, accept: bool) -> bytes:
    """Let packet `packet_id` of `queue` go on (accept) or drop it."""
    value = struct.pack(">II", NF_ACCEPT if accept else NF_DROP, packet_id)
    return message(MSG_VERDICT, queue, attribute(VERDICT_HDR, value))


def verdicts(queue: int, packet_ids: Sequence[int], accept: bool = True) -> bytes:
    """Several verdicts in one datagram: the kernel reads every message of a send."""
    return b"".join(verdict(queue, packet_id, accept) for packet_id in packet_ids)


def messages(data: bytes) -> Iterator[Message]:
    """The netlink messages in one datagram read from the socket (a truncated tail is ignored)."""
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, kind, _flags, sequence, _port = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > len(data):
            return
        yield Message(kind, sequence, data[offset + _NLMSGHDR.size : offset + length])
        offset += _align(length)


def attributes(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, value) of each attribute in `data`."""
    offset = 0
    while offset + _NLATTR.size <= len(data):
        length, kind = _NLATTR.unpack_from(data, offset)
        if length < _NLATTR.size or offset + length > len(data):
            return
        yield kind & _ATTR_TYPE_MASK, data[offset + _NLATTR.size : offset + length]
        offset += _align(length)


def packet_id(found: Message) -> int | None:
    """The id of the packet a MSG_PACKET message announces (None for any other message)."""
    if found.kind != SUBSYS_QUEUE << 8 | MSG_PACKET:
        return None
    for kind, value in attributes(found.payload[_NFGENMSG.size :]):
        if kind == PACKET_HDR and len(value) >= 4:
            return int(struct.unpack_from(">I", value)[0])
    return None


def error(found: Message) -> int | None:
    """The errno of an NLMSG_ERROR message (0 is an acknowledgement), None for any other message."""
    if found.kind != NLMSG_ERROR or len(found.payload) < 4:
        return None
    return -int(struct.unpack_from("=i", found.payload)[0])
