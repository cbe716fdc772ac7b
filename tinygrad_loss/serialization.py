"""Checkpoints: ``save(state_dict, path)`` and ``load(path)`` in the safetensors format.

A safetensors file is an 8-byte little-endian header length, a JSON header naming each array
with its dtype, shape and byte range, then the raw bytes. Nothing in it is code, so loading an
untrusted file can never run anything (unlike pickle, which ``torch.save`` uses and this module
never touches). PyTorch reads the files with ``safetensors.torch.load_file``, and the keys are
the state dict's own (``"0.weight"``, ``"fc1.bias"``), so a PyTorch model with the same layer
names can ``load_state_dict`` them directly.

    >>> import os, tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.safetensors")
    ...     save({"w": np.eye(2, dtype=np.float32), "step": np.array(3)}, path)
    ...     state = load(path)
    >>> list(state), state["w"].dtype, state["step"]
    (['w', 'step'], dtype('float32'), Tensor(3))

``save`` stores a flat mapping of names to arrays (what ``Module.state_dict()`` returns); a
nested state such as an optimizer's ``state_dict()`` must be flattened to such names first.
"""

from __future__ import annotations

import errno
import json
import math
import os
import struct
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from .errors import DTypeError, TinygradLossError
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError", "CheckpointNotFoundError"]

MAX_HEADER_BYTES = 100_000_000  # the limit the safetensors library itself enforces
_ORDER_KEY = "tinygrad_loss.order"  # metadata entry keeping the state dict's key order
_SAFETENSORS_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "I64": "int64", "I32": "int32",
    "I16": "int16", "I8": "int8", "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8",
    "BOOL": "bool",
}
_SAVABLE_KINDS = "fiub"  # float, signed and unsigned integer, bool


class CheckpointError(TinygradLossError, ValueError):
    """A checkpoint file that cannot be read: not safetensors, truncated, or corrupted."""


class CheckpointNotFoundError(FileNotFoundError, CheckpointError):
    """``load`` was given a path where there is no file (also a ``FileNotFoundError``)."""


# ---------------------------------------------------------------------------- save

def _as_array(key: Any, value: Any) -> np.ndarray:
    if not isinstance(key, str):
        raise TypeError(f"save: state dict keys must be strings, got {key!r} ({type(key).__name__})")
    if key == "__metadata__":
        raise ValueError("save: '__metadata__' is reserved by the safetensors format and cannot be a key")
    flat_hint = (f"save stores a flat mapping of names to arrays (like Module.state_dict()); flatten nested "
                 f"state to keys such as '{key}.0.momentum' first")
    if isinstance(value, Mapping):
        raise TypeError(f"save: {key!r} holds a {type(value).__name__}; {flat_hint}")
    try:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
    except ValueError as error:  # ragged lists
        raise TypeError(f"save: {key!r} is not an array ({error}); {flat_hint}") from None
    if array.dtype == object:
        raise TypeError(f"save: {key!r} holds a {type(value).__name__} that is not an array of numbers; {flat_hint}")
    if array.dtype.kind not in _SAVABLE_KINDS:
        raise DTypeError(f"save: {key!r} has dtype {array.dtype}; safetensors stores float, integer and bool arrays")
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    # safetensors copies raw memory, so a strided view would be garbled (np.ascontiguousarray
    # would also turn a 0-d array into shape (1,))
    return array if array.flags.c_contiguous else array.copy(order="C")


def _write_all(file: IO[bytes], payload: bytes) -> None:
    """Write ``payload`` to ``file`` (a separate function so tests can simulate a crash mid-write)."""
    file.write(payload)


def _file_mode(path: str) -> int:
    """Permissions for the new file: the old file's, or the usual 0o666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        pass
    umask = 0o022
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o666 & ~umask


def save(state_dict: Mapping[str, Any], path: str | os.PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``state_dict`` (names -> Tensors or arrays) to ``path`` as a safetensors file.

    Args:
        state_dict: a flat mapping such as ``model.state_dict()``; each value is a Tensor (its
            ``.data`` is written), numpy array or number, of a float, integer or bool dtype.
        path: the file to write, used exactly as given (no extension is added; the usual one
            is ``.safetensors``).
        metadata: extra text entries for the file header (str -> str), e.g. ``{"epoch": "5"}``.

    The keys and dtypes are kept as they are, and ``load`` returns the keys in the same order.
    The header also records ``"format": "pt"`` (so ``safetensors.torch.load_file`` accepts it)
    and the tinygrad_loss version.

    The save is atomic: the bytes go to a temporary file next to ``path``, are flushed to disk
    (``os.fsync``) and only then renamed over ``path`` (``os.replace``). If anything fails, or
    the program is killed midway, the previous file at ``path`` is left untouched.
    """
    from safetensors.numpy import save as to_safetensors_bytes

    from . import __version__

    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a mapping of names to tensors (e.g. model.state_dict()), "
                        f"got {type(state_dict).__name__}")
    arrays = {key: _as_array(key, value) for key, value in state_dict.items()}
    header: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"save: metadata must map strings to strings, got {key!r}: {value!r}")
        header[key] = value
    header.update({"format": "pt", "tinygrad_loss": __version__, _ORDER_KEY: json.dumps(list(arrays))})
    payload = _canonical_header(to_safetensors_bytes(arrays, metadata=header))

    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"save: the directory {directory!r} does not exist", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "save: the path is a directory, not a file name", path)
    mode = _file_mode(path)
    _remove_stale_temporaries(directory, os.path.basename(path))
    temp = tempfile.NamedTemporaryFile(dir=directory, prefix=f".{os.path.basename(path)}.{os.getpid()}.",
                                       suffix=".tmp", delete=False)
    try:
        with temp:
            _write_all(temp, payload)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp.name, mode)
        os.replace(temp.name, path)
    except BaseException:
        try:
            os.unlink(temp.name)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _canonical_header(payload: bytes) -> bytes:
    """The same state always gives the same bytes: safetensors writes its metadata in a
    per-process random order, so rewrite the header with sorted keys (same length, padded)."""
    (length,) = struct.unpack("<Q", payload[:8])
    header = json.loads(payload[8:8 + length])
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    if len(canonical) > length:
        return payload
    return payload[:8] + canonical.ljust(length, b" ") + payload[8 + length:]


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Delete temporary files that saves killed midway left next to ``name`` (their writer,
    whose pid is in the file name, is gone); a save still running elsewhere is left alone."""
    prefix = f".{name}."
    for entry in os.listdir(directory):
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:
                pass
        except PermissionError:
            pass  # alive, owned by someone else


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- load

class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON objects must not name a key twice: another reader might take the other entry."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _read_header(path: str) -> tuple[dict[str, Any], list[str]]:
    """Parse and check the header by hand before safetensors opens the file, so that every
    kind of bad file gets a message saying what is wrong. Returns (metadata, keys in file order)."""
    prefix = b""

    def bad(problem: str) -> CheckpointError:
        if prefix[:1] == b"\x80" and prefix[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05") and any(prefix[2:]):
            problem += " (it looks like a pickle file; pickles are never loaded, since unpickling can run code)"
        elif prefix[:4] == b"PK\x03\x04":
            problem += " (it looks like a zip archive, e.g. a torch.save checkpoint, which holds pickles)"
        return CheckpointError(f"load: {path!r} is not a valid safetensors checkpoint: {problem}")

    try:
        size = os.path.getsize(path)
        with open(path, "rb") as file:
            prefix = file.read(8)
            if len(prefix) < 8:
                raise bad(f"the file has {size} bytes, fewer than the 8-byte header length "
                          f"(empty or truncated)")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > MAX_HEADER_BYTES:
                raise bad(f"its first 8 bytes claim a {header_len:,}-byte header, more than the "
                          f"{MAX_HEADER_BYTES:,}-byte limit (a different file format, or corrupted)")
            if 8 + header_len > size:
                raise bad(f"its first 8 bytes claim a {header_len:,}-byte header but the file has only "
                          f"{size:,} bytes (truncated, or a different file format)")
            first = file.read(1)
            if first != b"{":  # look before reading a (possibly huge) header that cannot be JSON
                raise bad("the header does not start with a JSON object")
            raw = first + file.read(header_len - 1)
    except IsADirectoryError:
        raise CheckpointError(f"load: {path!r} is a directory, not a checkpoint file") from None
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except _DuplicateKey as duplicate:
        raise bad(f"the header names {duplicate.args[0]!r} twice") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise bad(f"the header is not valid JSON ({str(error)[:200]})") from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise bad("'__metadata__' is not a JSON object")
    spans = []
    for key, entry in header.items():
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            valid = (isinstance(dtype, str) and isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end
                     and isinstance(shape, list) and all(isinstance(s, int) and s >= 0 for s in shape))
        except (TypeError, KeyError, ValueError):
            valid = False
        if not valid:
            raise bad(f"the header entry for {key!r} is malformed: {entry!r}")
        if dtype not in _SAFETENSORS_DTYPES:
            raise bad(f"{key!r} has dtype {dtype}, which has no numpy equivalent "
                      f"(supported: {', '.join(_SAFETENSORS_DTYPES)})")
        expected = math.prod(shape) * np.dtype(_SAFETENSORS_DTYPES[dtype]).itemsize  # Python ints: no overflow
        if end - begin != expected:
            raise bad(f"{key!r} has shape {shape} and dtype {dtype} ({expected} bytes) but a byte range of "
                      f"{end - begin} bytes")
        spans.append((begin, end, key))
    spans.sort()
    data_size = size - 8 - header_len
    covered = 0
    for begin, end, key in spans:
        if begin != covered:
            raise bad(f"the byte ranges overlap or leave a gap at {key!r}")
        covered = end
    if covered != data_size:
        raise bad(f"the header describes {covered:,} bytes of array data but the file holds {data_size:,} "
                  f"(truncated or padded)")
    return metadata, [key for _, _, key in spans]


def load(path: str | os.PathLike) -> OrderedDict[str, Tensor]:
    """Read a safetensors file written by ``save`` (or by any safetensors writer, e.g.
    ``safetensors.torch.save_file``) into an OrderedDict of names -> Tensors.

    The keys come back in the order they were saved (for other writers' files, in the order
    of the arrays in the file) with their dtypes unchanged; the Tensors are fresh, writable
    copies that do not require grad. Feed the result to ``model.load_state_dict``.

    Nothing in the file is ever executed: the header is JSON and the rest is raw numbers.

    Raises:
        CheckpointNotFoundError: (a ``FileNotFoundError``) there is no file at ``path``.
        CheckpointError: (a ``ValueError``) the file is not a safetensors file (a pickle from
            ``torch.save``, random bytes, ...), is truncated, or has a corrupt header.
    """
    from safetensors import SafetensorError, safe_open

    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointNotFoundError(errno.ENOENT, "load: no checkpoint file at this path", path)
    metadata, file_order = _read_header(path)
    order = file_order
    saved_order = metadata.get(_ORDER_KEY)
    if isinstance(saved_order, str):
        try:
            candidate = json.loads(saved_order)
        except json.JSONDecodeError:
            candidate = None
        if isinstance(candidate, list) and sorted(candidate) == sorted(file_order):
            order = candidate
    state: OrderedDict[str, Tensor] = OrderedDict()
    try:
        with safe_open(path, framework="np") as file:
            for key in order:
                state[key] = Tensor(file.get_tensor(key))  # Tensor() copies: writable, owns its data
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"load: could not read {path!r} as a safetensors checkpoint: {error}") from None
    return state
