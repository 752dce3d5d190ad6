"""The WASI p1 bridge tier: calls and host requests as frames on a command module's stdio.

A p1 bridge guest is a plain WASI preview-1 command module, so runtimes
without the component model (wasmer-sdk) can run it beside those with it.
It does *not* exercise the canonical ABI: values cross in the suite's own
encoding, typed by the same WIT as the component guests, and the host side
is the same backends. Each runtime only supplies a `Pipe` to the module's
stdin/stdout; everything about the protocol lives here.

Frame: u32 little-endian length, then a one-byte tag and its fields.

| tag | direction     | fields                                   |
|-----|---------------|------------------------------------------|
| C   | host -> guest | func: string, the params in order        |
| r   | guest -> host | the function's result (nothing if none)  |
| H   | guest -> host | interface: string, func: string, params  |
| D   | guest -> host | interface: string, resource: string, rep: u32 (a resource drop) |
| R   | host -> guest | the host function's result               |
| E   | host -> guest | message: string (the host backend failed; the guest aborts) |

Values (typed by WIT, little-endian): bool/s8/u8 one byte, s16/u16 two,
s32/u32/char four, s64/u64 eight, f32/f64 IEEE; string and list: u32 count
then UTF-8 bytes or elements; record and tuple: fields in order; variant and
enum: u32 case index then the payload; option and result: one byte (0 none /
ok, 1 some / err) then the payload; flags: u32 bit set; own/borrow: u32 rep.
A guest reads calls until stdin ends, then exits 0.
"""
from __future__ import annotations

import queue
import struct
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from keel_conformance import types as T
from keel_conformance.component_types import guest_types
from keel_conformance.outcomes import GuestTimeout, GuestTrap, NotApplicable, SuiteError
from keel_conformance.types import InterfaceSig
from keel_conformance.values import Err, Ok, Resource, Some, Variant

from .protocol import Limits

MAX_FRAME = 64 * 1024 * 1024  # above the kv contract's 16 MiB value limit, below a runaway
_FIXED = {"bool": "<?", "s8": "<b", "u8": "<B", "s16": "<h", "u16": "<H", "s32": "<i", "u32": "<I",
          "s64": "<q", "u64": "<Q", "f32": "<f", "f64": "<d"}


class ProtocolError(ValueError):
    """Bytes that are not a frame of this protocol."""


def encode(ty: T.WitType, v: Any, out: bytearray) -> None:
    if isinstance(ty, T.Prim):
        if ty.kind == "string":
            _blob(v.encode("utf-8"), out)
        elif ty.kind == "char":
            out += struct.pack("<I", ord(v))
        else:
            out += struct.pack(_FIXED[ty.kind], v)
    elif isinstance(ty, T.ListT):
        if ty.element == T.Prim("u8"):
            _blob(bytes(v), out)
        else:
            out += struct.pack("<I", len(v))
            for x in v:
                encode(ty.element, x, out)
    elif isinstance(ty, T.RecordT):
        for name, t in ty.fields:
            encode(t, v[name], out)
    elif isinstance(ty, T.TupleT):
        for t, x in zip(ty.elements, v, strict=True):
            encode(t, x, out)
    elif isinstance(ty, T.VariantT):
        names = [n for n, _ in ty.cases]
        out += struct.pack("<I", names.index(v.case))
        payload = ty.cases[names.index(v.case)][1]
        if payload is not None:
            encode(payload, v.payload, out)
    elif isinstance(ty, T.EnumT):
        out += struct.pack("<I", ty.names.index(v.case))
    elif isinstance(ty, T.OptionT):
        out.append(0 if v is None else 1)
        if v is not None:
            encode(ty.payload, v.value, out)
    elif isinstance(ty, T.ResultT):
        is_ok = isinstance(v, Ok)
        out.append(0 if is_ok else 1)
        payload = ty.ok if is_ok else ty.err
        if payload is not None:
            encode(payload, v.value, out)
    elif isinstance(ty, T.FlagsT):
        out += struct.pack("<I", sum(1 << i for i, n in enumerate(ty.names) if n in v))
    else:  # own / borrow: the host's rep
        out += struct.pack("<I", v.rep)


def _blob(data: bytes, out: bytearray) -> None:
    out += struct.pack("<I", len(data))
    out += data


class Reader:
    """A cursor over one frame's bytes; running off the end is a ProtocolError."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError(f"frame ends at byte {len(self.data)}, {n} more wanted at {self.pos}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        raw = self.take(self.unpack("<I"))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(f"string is not UTF-8: {e}") from None

    def index(self, count: int, what: str, fmt: str = "<I") -> int:
        i = self.unpack(fmt)
        if i >= count:
            raise ProtocolError(f"{what} index {i} names no case (there are {count})")
        return int(i)

    def done(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError(f"{len(self.data) - self.pos} bytes left over in the frame")


def decode(ty: T.WitType, r: Reader) -> Any:
    if isinstance(ty, T.Prim):
        if ty.kind == "string":
            return r.string()
        if ty.kind == "char":
            code = r.unpack("<I")
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise ProtocolError(f"char {code:#x} is not a Unicode scalar value")
            return chr(code)
        if ty.kind == "bool":
            return bool(r.index(2, "bool", "<B"))
        return r.unpack(_FIXED[ty.kind])
    if isinstance(ty, T.ListT):
        if ty.element == T.Prim("u8"):
            return r.take(r.unpack("<I"))
        return [decode(ty.element, r) for _ in range(r.unpack("<I"))]
    if isinstance(ty, T.RecordT):
        return {name: decode(t, r) for name, t in ty.fields}
    if isinstance(ty, T.TupleT):
        return tuple(decode(t, r) for t in ty.elements)
    if isinstance(ty, T.VariantT):
        name, payload = ty.cases[r.index(len(ty.cases), "variant")]
        return Variant(name, None if payload is None else decode(payload, r))
    if isinstance(ty, T.EnumT):
        return Variant(ty.names[r.index(len(ty.names), "enum")])
    if isinstance(ty, T.OptionT):
        return None if r.index(2, "option", "<B") == 0 else Some(decode(ty.payload, r))
    if isinstance(ty, T.ResultT):
        if r.index(2, "result", "<B") == 0:
            return Ok(None if ty.ok is None else decode(ty.ok, r))
        return Err(None if ty.err is None else decode(ty.err, r))
    if isinstance(ty, T.FlagsT):
        bits = r.unpack("<I")
        if bits >> len(ty.names):
            raise ProtocolError(f"flags {bits:#x} set bits past the {len(ty.names)} names")
        return frozenset(n for i, n in enumerate(ty.names) if bits >> i & 1)
    return Resource(ty.resource, r.unpack("<I"))  # type: ignore[union-attr]


def frame(tag: bytes, *fields: bytes) -> bytes:
    body = tag + b"".join(fields)
    return struct.pack("<I", len(body)) + body


def string(s: str) -> bytes:
    out = bytearray()
    _blob(s.encode("utf-8"), out)
    return bytes(out)


def values(types: Sequence[T.WitType], vals: Sequence[Any]) -> bytes:
    out = bytearray()
    for t, v in zip(types, vals, strict=True):
        encode(t, v, out)
    return bytes(out)


class Pipe(Protocol):
    """A running p1 module's stdin and stdout, as one runtime provides them."""

    def write(self, data: bytes) -> None:
        """Raises OSError when the module can no longer read."""
        ...

    def read(self, deadline: float) -> bytes:
        """The next bytes the module wrote; b"" once its stdout has ended; TimeoutError at `deadline`."""
        ...

    def ended(self) -> Exception:
        """Why the module stopped talking, in its runtime's words, as an outcome to raise."""
        ...

    def kill(self) -> None: ...


class ChunkQueue:
    """Bytes a module wrote, handed from whichever thread receives them to the reading one."""

    def __init__(self) -> None:
        self._q: queue.Queue[bytes] = queue.Queue()
        self._ended = False

    def put(self, data: bytes) -> None:
        if data:
            self._q.put(bytes(data))

    def close(self) -> None:
        self._q.put(b"")

    def read(self, deadline: float) -> bytes:
        if self._ended:  # every read after the end says so at once
            return b""
        try:
            chunk = self._q.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError from None
        self._ended = not chunk
        return chunk


class FrameReader:
    def __init__(self, pipe: Pipe) -> None:
        self.pipe, self.buf = pipe, b""

    def _fill(self, n: int, deadline: float) -> bool:
        while len(self.buf) < n:
            chunk = self.pipe.read(deadline)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def next(self, deadline: float) -> Reader | None:
        """The next frame, or None when the module's stdout ended between or inside frames."""
        if not self._fill(4, deadline):
            return None
        n = struct.unpack("<I", self.buf[:4])[0]
        if not 0 < n <= MAX_FRAME:
            raise ProtocolError(f"frame length {n} (the guest wrote something other than a frame: "
                                f"{self.buf[:40]!r})")
        if not self._fill(4 + n, deadline):
            return None
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return Reader(body)


class BridgeInstance:
    """One running p1 bridge module, called through the runner protocol."""

    def __init__(self, pipe: Pipe, exports: InterfaceSig, imports: Mapping[str, InterfaceSig],
                 backends: Mapping[str, Any], limits: Limits) -> None:
        self.pipe, self.exports, self.imports = pipe, exports, imports
        self.backends, self.limits = backends, limits
        self.frames = FrameReader(pipe)

    def call(self, func: str, args: Sequence[Any]) -> Any:
        sig = self.exports.funcs.get(func)
        if sig is None:
            raise SuiteError(f"{self.exports.name} has no function {func!r}")
        self._send(frame(b"C", string(func), values([t for _, t in sig.params], args)))
        deadline = time.monotonic() + self.limits.call_timeout_s
        host_error: BaseException | None = None
        while True:
            try:
                r = self.frames.next(deadline)
                if time.monotonic() > deadline:  # the deadline covers host time too, as an epoch deadline does
                    raise TimeoutError
            except TimeoutError:
                self.pipe.kill()
                raise GuestTimeout(f"call exceeded {self.limits.call_timeout_s:g} s; the module was stopped") from None
            except ProtocolError as e:
                raise self._refused(e) from None
            if r is None:
                if host_error is not None:
                    raise SuiteError(f"host backend raised {host_error!r}") from host_error
                raise self.pipe.ended()
            try:
                tag = r.take(1)
                if tag == b"r":
                    out = None if sig.result is None else decode(sig.result, r)
                    r.done()
                    return out
                if tag not in (b"H", b"D"):
                    raise ProtocolError(f"unknown frame tag {tag!r}")
                host_error = self._serve(tag, r) or host_error
            except ProtocolError as e:
                raise self._refused(e) from None

    def _refused(self, e: ProtocolError) -> GuestTrap:
        """A guest that writes what the protocol cannot carry is stopped, as a canonical-ABI host traps on
        a value it cannot lift."""
        self.pipe.kill()
        return GuestTrap(f"the host refused the guest's frame: {e}")

    def kill_runtime(self) -> None:
        """For runners whose module lives in a process of its own ("separate-process")."""
        self.pipe.sigkill()  # type: ignore[attr-defined]

    def _import(self, name: str) -> InterfaceSig:
        if name in self.imports:
            return self.imports[name]
        for key, sig in self.imports.items():
            if key.split("@")[0] == name.split("@")[0]:
                return sig
        raise ProtocolError(f"the guest asked for {name!r}, which its world does not import")

    def _serve(self, tag: bytes, r: Reader) -> BaseException | None:
        """Answers a host function call (H) or a resource drop (D) from the backends."""
        iface = self._import(r.string())
        backend = self.backends[iface.name]
        if tag == b"D":
            resource, rep = r.string(), r.unpack("<I")
            r.done()
            call, result = (lambda: backend.drop(resource, rep)), None
        else:
            fname = r.string()
            fsig = iface.funcs.get(fname)
            if fsig is None:
                raise ProtocolError(f"{iface.name} has no function {fname!r}")
            args = [decode(t, r) for _, t in fsig.params]
            r.done()
            call, result = (lambda: backend.functions[fname](*args)), fsig.result
        try:
            out = call()
            reply = frame(b"R", b"" if result is None else values([result], [out]))
        except Exception as e:  # the suite's own bug: reported as error, never as the guest's trap
            self._send(frame(b"E", string(f"{type(e).__name__}: {e}")))
            return e
        self._send(reply)
        return None

    def _send(self, data: bytes) -> None:
        try:
            self.pipe.write(data)
        except OSError:
            raise self.pipe.ended() from None

    def close(self) -> None:
        self.pipe.kill()


def bridge_world(guest: Any, backends: Mapping[str, Any]) -> tuple[InterfaceSig, dict[str, InterfaceSig]]:
    """A bridge guest's export under test and its non-WASI imports, from its world's types component,
    the imports checked against the backends a scenario provides."""
    types = guest_types(guest)
    exports = types.export_named(guest.export)
    if exports is None:
        raise NotApplicable(f"{guest.name}'s world does not export {guest.export}")
    imports = {n: s for n, s in types.imports.items() if not n.startswith("wasi:")}
    missing = [n for n in imports if n not in backends]
    if missing:
        raise SuiteError(f"{guest.name} imports {', '.join(missing)}, which no host backend provides")
    return exports, imports
