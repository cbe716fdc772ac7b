"""``tinygrad_loss.load`` of files nobody should trust.

Every hostile or broken file gives a ``CheckpointError`` (a ``ValueError``) whose message names
the path; no code in the file ever runs; a header that claims to be huge fails fast in bounded
memory; a header with very many entries loads (or fails) in bounded time.

tests/test_serialization.py already covers: pickles of protocols 2, 4 and 5 (plain and with a
code-running ``__reduce__``), a torch.save zip, random bytes, truncation, a 10 GB header length
(message only), a byte range that does not match the shape, a malformed entry, the unknown
dtype "X9", one partial overlap of byte ranges, cut-off JSON and BF16 written by PyTorch. The
cases here are the ones it does not.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import time
import tracemalloc
from pathlib import Path

import pytest

import tinygrad_loss as tl
from tinygrad_loss.serialization import CheckpointError


class CreateMarker:
    """Unpickling this runs ``open(marker, "w")``: a harmless stand-in for arbitrary code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_safetensors(path: Path, header: bytes | dict, data: bytes = b"") -> Path:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def assert_refused(path: Path, *phrases: str) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        tl.load(path)
    error = info.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert str(path) in message, f"the message does not name the file: {message!r}"
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} missing from {message!r}"
    return error


# ----------------------------------------------------------------------- code in files


@pytest.mark.parametrize("protocol", [0, 1])
def test_text_protocol_pickles_never_run(tmp_path, protocol):
    """Protocols 0 and 1 have no b'\\x80' magic byte; they must be refused all the same."""
    marker = tmp_path / "pwned"
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(CreateMarker(str(proof)), protocol=protocol)).close()
    assert proof.exists()  # the payload really runs code when unpickled
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(CreateMarker(str(marker)), protocol=protocol))
    assert_refused(path, "not a valid safetensors")
    assert not marker.exists()


def test_a_malicious_torch_save_zip_never_runs(tmp_path, torch):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(2), "payload": CreateMarker(str(marker))}, str(path))
    assert not marker.exists()
    assert_refused(path, "zip archive")
    assert not marker.exists()


def test_a_legacy_torch_save_file_is_named_as_a_pickle(tmp_path, torch):
    marker = tmp_path / "pwned"
    path = tmp_path / "legacy.pt"
    torch.save({"payload": CreateMarker(str(marker))}, str(path), _use_new_zipfile_serialization=False)
    assert_refused(path, "pickle")
    assert not marker.exists()


# ------------------------------------------------------------------ huge header claims


def _measure_load(path: Path) -> tuple[BaseException | None, float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    error = None
    try:
        tl.load(path)
    except BaseException as caught:  # whatever comes out is reported
        error = caught
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, elapsed, peak


@pytest.mark.parametrize("file_size", ["tiny", "sparse-10GB"])
def test_a_10_GB_header_length_fails_fast_in_bounded_memory(tmp_path, file_size):
    path = tmp_path / "huge.safetensors"
    claimed = 10 * 1024**3
    path.write_bytes(struct.pack("<Q", claimed) + b'{"w": {}}')
    if file_size == "sparse-10GB":  # the file really is that long (a hole: no disk used)
        os.truncate(path, 8 + claimed + 16)
    error, elapsed, peak = _measure_load(path)
    assert isinstance(error, CheckpointError) and str(path) in str(error), error
    assert elapsed < 1.0, elapsed
    assert peak < 50 * 1024**2, f"peak {peak / 1024**2:.0f} MB"


def test_a_header_that_is_not_json_is_refused_before_it_is_read_whole(tmp_path):
    """90 MB claimed (under the 100 MB limit), the first byte is not '{': no need to read 90 MB."""
    path = tmp_path / "zeros.safetensors"
    claimed = 90_000_000
    path.write_bytes(struct.pack("<Q", claimed) + b"\x00")
    os.truncate(path, 8 + claimed)
    error, elapsed, peak = _measure_load(path)
    assert isinstance(error, CheckpointError) and str(path) in str(error), error
    assert "JSON" in str(error)
    assert peak < 50 * 1024**2, f"peak {peak / 1024**2:.0f} MB to reject a header by its first byte"


# ------------------------------------------------------------------ hostile headers

F32_4 = b"\x00\x00\x80\x3f"  # 1.0 as float32


def entry(dtype: object = "F32", shape: object = None, offsets: object = None) -> dict:
    return {"dtype": dtype, "shape": [1] if shape is None else shape,
            "data_offsets": [0, 4] if offsets is None else offsets}


HOSTILE: list[tuple[str, bytes | dict, bytes, tuple[str, ...]]] = [
    # dtypes with no numpy equivalent, or not a dtype name at all
    ("dtype-F128", {"w": entry("F128", [1], [0, 16])}, bytes(16), ("F128", "no numpy equivalent")),
    ("dtype-BF16", {"w": entry("BF16", [2], [0, 4])}, bytes(4), ("BF16", "no numpy equivalent")),
    ("dtype-F8", {"w": entry("F8_E4M3", [1], [0, 1])}, bytes(1), ("F8_E4M3",)),
    ("dtype-C64", {"w": entry("C64", [1], [0, 8])}, bytes(8), ("C64",)),
    ("dtype-number", {"w": entry(5, [1], [0, 4])}, F32_4, ("'w'", "5")),
    ("dtype-list", {"w": entry(["F32"], [1], [0, 4])}, F32_4, ("'w'",)),
    # byte ranges
    ("offsets-alias", {"w": entry(), "v": entry()}, F32_4, ("overlap",)),
    ("offsets-nested", {"w": entry("F32", [2], [0, 8]), "v": entry("F32", [1], [4, 8])}, bytes(8), ("overlap",)),
    ("offsets-gap", {"w": entry("F32", [1], [0, 4]), "v": entry("F32", [1], [8, 12])}, bytes(12), ("gap",)),
    ("offsets-beyond-file", {"w": entry("F32", [1000], [0, 4000])}, bytes(8), ("4,000", "8")),
    ("offsets-reversed", {"w": entry("F32", [1], [4, 0])}, F32_4, ("malformed",)),
    ("offsets-floats", {"w": entry("F32", [1], [0.0, 4.0])}, F32_4, ("malformed",)),
    ("offsets-past-2**64", {"w": entry("F32", [1], [2**64, 2**64 + 4])}, F32_4, ()),
    ("offsets-missing-end", {"w": entry("F32", [1], [0])}, F32_4, ("malformed",)),
    # shapes
    ("shape-negative", {"w": entry("F32", [-1], [0, 4])}, F32_4, ("malformed",)),
    ("shape-float", {"w": entry("F32", [1.5], [0, 4])}, F32_4, ("malformed",)),
    ("shape-string", {"w": entry("F32", "1", [0, 4])}, F32_4, ("malformed",)),
    ("shape-product-overflows-int64", {"w": entry("F32", [2**32, 2**32], [0, 0])}, b"", ()),
    ("shape-beyond-int64", {"w": entry("F32", [2**70], [0, 4])}, F32_4, ("'w'",)),
    ("shape-scalar-vs-8-bytes", {"w": entry("F32", [], [0, 8])}, bytes(8), ("byte range",)),
    ("shape-zero-with-bytes", {"w": entry("F32", [0], [0, 4])}, F32_4, ("byte range",)),
    # duplicate keys: which one is meant is ambiguous (other readers may pick the other one)
    ("duplicate-tensor-key", b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                             b'"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', bytes(8), ("'w'",)),
    ("duplicate-metadata", b'{"__metadata__": {"a": "1"}, "__metadata__": {"b": "2"}, '
                           b'"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', F32_4, ("__metadata__",)),
    # not JSON, or not the JSON it should be
    ("header-not-utf8", b"{\xff\xfe}", b"", ("JSON",)),
    ("header-trailing-garbage", b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}} trailing', F32_4,
     ("JSON",)),
    ("header-utf8-bom", b'\xef\xbb\xbf{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', F32_4, ("JSON",)),
    ("header-json-string", b'"{}"', b"", ("JSON object",)),
    ("header-deeply-nested", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b"", ()),
    ("header-huge-integer", b'{"w": {"dtype": "F32", "shape": [1' + b"0" * 5000 + b'], "data_offsets": [0, 4]}}', F32_4,
     ()),
    ("header-nan-literal", b'{"w": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}', F32_4, ("malformed",)),
    ("metadata-not-an-object", b'{"__metadata__": [1, 2]}', b"", ("__metadata__",)),
    ("metadata-values-not-strings", {"__metadata__": {"epoch": 5}, "w": entry()}, F32_4, ()),
    ("entry-not-an-object", {"w": [0, 4]}, F32_4, ("malformed",)),
    ("entry-missing-dtype", {"w": {"shape": [1], "data_offsets": [0, 4]}}, F32_4, ("malformed",)),
]


@pytest.mark.parametrize("name, header, data, phrases", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_headers_are_refused_naming_the_file(tmp_path, name, header, data, phrases):
    path = write_safetensors(tmp_path / f"{name}.safetensors", header, data)
    start = time.perf_counter()
    assert_refused(path, *phrases)
    assert time.perf_counter() - start < 2.0


# ------------------------------------------------------------------ many tiny tensors


def test_a_header_with_100_000_tiny_tensors_loads_in_bounded_time(tmp_path):
    n = 100_000
    header = {f"t{i}": entry("U8", [1], [i, i + 1]) for i in range(n)}
    data = bytes(i % 256 for i in range(n))
    path = write_safetensors(tmp_path / "many.safetensors", header, data)
    start = time.perf_counter()
    state = tl.load(path)
    elapsed = time.perf_counter() - start
    assert len(state) == n
    assert state["t300"].numpy().tolist() == [300 % 256]
    assert elapsed < 20, f"{elapsed:.1f} s for {n} tensors"


def test_a_header_with_100_000_empty_tensors_sharing_one_offset(tmp_path):
    """Zero-byte arrays at offset 0 do not overlap anything: valid, and quick."""
    n = 100_000
    header = {f"t{i}": entry("F32", [0, 3], [0, 0]) for i in range(n)}
    path = write_safetensors(tmp_path / "empties.safetensors", header)
    start = time.perf_counter()
    state = tl.load(path)
    assert time.perf_counter() - start < 20
    assert len(state) == n and state["t7"].shape == (0, 3)


def test_a_huge_order_list_in_the_metadata_does_not_change_the_keys(tmp_path):
    """The metadata's key order is a hint: an order naming other keys is ignored, not trusted."""
    order = json.dumps(["w", "evil", "x" * 1000] * 1000)
    path = write_safetensors(tmp_path / "order.safetensors",
                             {"__metadata__": {"tinygrad_loss.order": order}, "w": entry()}, F32_4)
    state = tl.load(path)
    assert list(state) == ["w"] and state["w"].tolist() == [1.0]
