"""tinygrad_loss.serialization: safetensors checkpoints that are atomic, PyTorch-readable and
never execute code when loaded."""

from __future__ import annotations

import os
import pickle
import struct
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import serialization
from tinygrad_loss.errors import DTypeError
from tinygrad_loss.nn.module import Module, Parameter
from tinygrad_loss.serialization import CheckpointError, CheckpointNotFoundError, load, save
from tinygrad_loss.tensor import Tensor


def _mlp_state() -> OrderedDict:
    """The state dict of a 4 -> 3 -> 2 MLP under PyTorch's nn.Sequential names."""
    rng = np.random.default_rng(0)
    return OrderedDict([
        ("0.weight", Tensor(rng.standard_normal((3, 4)).astype(np.float32))),
        ("0.bias", Tensor(rng.standard_normal(3).astype(np.float32))),
        ("2.weight", Tensor(rng.standard_normal((2, 3)).astype(np.float32))),
        ("2.bias", Tensor(rng.standard_normal(2).astype(np.float32))),
    ])


def _files(directory) -> list[str]:
    return sorted(os.listdir(directory))


# ---------------------------------------------------------------------------- round trip

def test_round_trip_values_dtypes_and_key_order(tmp_path):
    state = OrderedDict([
        ("z.weight", Tensor(np.arange(6, dtype=np.float32).reshape(2, 3) / 7)),
        ("a.steps", np.array([1, -2, 3], dtype=np.int64)),
        ("m.running_var", Tensor(np.linspace(0, 1, 5))),  # float64
        ("flag", np.array(True)),  # 0-d bool
        ("half", np.ones(2, dtype=np.float16)),
        ("count", np.int32(5)),
        ("pixels", np.arange(4, dtype=np.uint8)),
        ("empty", np.zeros((0, 3), dtype=np.float32)),
        ("nested_list", [[1.5, 2.5], [3.5, 4.5]]),  # numbers: kept as given (float64)
    ])
    path = tmp_path / "model.safetensors"
    save(state, path)
    loaded = load(path)
    assert isinstance(loaded, OrderedDict)
    assert list(loaded) == list(state)  # the order of the state dict, not the file's sorted order
    for key, value in state.items():
        expected = np.asarray(value.data if isinstance(value, Tensor) else value)
        got = loaded[key]
        assert isinstance(got, Tensor) and not got.requires_grad
        assert got.dtype == expected.dtype, key
        assert got.shape == expected.shape, key
        np.testing.assert_array_equal(got.numpy(), expected)


def test_loaded_tensors_are_writable_copies(tmp_path):
    path = tmp_path / "w.safetensors"
    save({"w": np.ones(3, dtype=np.float32)}, path)
    w = load(path)["w"]
    w.data += 1.0
    np.testing.assert_array_equal(w.numpy(), [2.0, 2.0, 2.0])


def test_non_contiguous_arrays_are_saved_correctly(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    state = {"strided": base[:, ::2], "transposed": base.T, "big_endian": base.astype(">f8")}
    path = tmp_path / "views.safetensors"
    save(state, path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded["strided"].numpy(), base[:, ::2])
    np.testing.assert_array_equal(loaded["transposed"].numpy(), base.T)
    np.testing.assert_array_equal(loaded["big_endian"].numpy(), base)
    assert loaded["big_endian"].dtype == np.float64


def test_path_is_used_as_given(tmp_path):
    path = tmp_path / "checkpoint.ckpt"
    save({"w": np.zeros(2)}, str(path))
    assert _files(tmp_path) == ["checkpoint.ckpt"]
    no_extension = tmp_path / "plain"
    save({"w": np.zeros(2)}, no_extension)
    assert _files(tmp_path) == ["checkpoint.ckpt", "plain"]


def test_overwrite_replaces_the_old_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": np.zeros(2, dtype=np.float32)}, path)
    save({"w": np.ones(3, dtype=np.float32), "b": np.ones(1, dtype=np.float32)}, path)
    loaded = load(path)
    assert list(loaded) == ["w", "b"] and loaded["w"].tolist() == [1.0, 1.0, 1.0]
    assert _files(tmp_path) == ["m.safetensors"]


def test_metadata_in_the_header(tmp_path):
    from safetensors import safe_open

    path = tmp_path / "m.safetensors"
    save({"w": np.zeros(2)}, path, metadata={"epoch": "5"})
    with safe_open(str(path), framework="np") as f:
        header = f.metadata()
    assert header["format"] == "pt" and header["epoch"] == "5" and header["tinygrad_loss"] == tl.__version__


def test_module_round_trip(tmp_path):
    class Layer(Module):
        def __init__(self, n_in: int, n_out: int) -> None:
            super().__init__()
            self.weight = Parameter(tl.randn(n_out, n_in))
            self.bias = Parameter(tl.zeros(n_out))

    class Net(Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = Layer(4, 3)
            self.fc2 = Layer(3, 2)

    tl.manual_seed(0)
    source = Net()
    path = tmp_path / "net.safetensors"
    save(source.state_dict(), path)
    tl.manual_seed(1)
    target = Net()
    state = load(path)
    assert list(state) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    target.load_state_dict(state)
    for (name, p), (_, q) in zip(source.named_parameters(), target.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
        assert q.requires_grad


def test_save_rejects_what_it_cannot_store(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="flat mapping"):
        save({"state": {0: {"momentum_buffer": np.zeros(2)}}}, path)
    with pytest.raises(TypeError, match="flat mapping"):
        save({"param_groups": [{"lr": 0.1, "params": [0, 1]}]}, path)
    with pytest.raises(TypeError, match="flat mapping"):
        save({"nothing": None}, path)
    with pytest.raises(TypeError, match="keys must be strings"):
        save({0: np.zeros(2)}, path)
    with pytest.raises(DTypeError, match="complex"):
        save({"c": np.zeros(2, dtype=np.complex64)}, path)
    with pytest.raises(ValueError, match="reserved"):
        save({"__metadata__": np.zeros(2)}, path)
    with pytest.raises(TypeError, match="mapping"):
        save([np.zeros(2)], path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({"w": np.zeros(2)}, tmp_path / "missing_dir" / "x.safetensors")
    assert _files(tmp_path) == []


# ---------------------------------------------------------------------------- PyTorch interop

def test_pytorch_reads_the_file_into_a_same_named_module(tmp_path, torch):
    from safetensors.torch import load_file

    state = _mlp_state()
    path = tmp_path / "mlp.safetensors"
    save(state, path)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    assert list(model.state_dict()) == list(state)
    model.load_state_dict(load_file(str(path)))  # strict: keys and shapes must match exactly
    for key, value in state.items():
        np.testing.assert_array_equal(model.state_dict()[key].numpy(), value.numpy())
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    w0, b0, w2, b2 = (v.numpy() for v in state.values())
    expected = np.maximum(x @ w0.T + b0, 0) @ w2.T + b2
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def _tl_mlp():
    """tinygrad_loss's own Sequential(Linear(4, 3), ReLU(), Linear(3, 2)), or a skip when the
    layers are not available."""
    nn = pytest.importorskip("tinygrad_loss.nn", reason="tinygrad_loss.nn not importable")
    if not all(hasattr(nn, name) for name in ("Sequential", "Linear", "ReLU")):
        pytest.skip("tinygrad_loss.nn has no Sequential/Linear/ReLU yet")
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def test_model_round_trip_with_pytorch_both_ways(tmp_path, torch):
    from safetensors.torch import load_file, save_file

    tl.manual_seed(0)
    ours = _tl_mlp()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)

    save(ours.state_dict(), tmp_path / "ours.safetensors")  # tinygrad_loss -> PyTorch
    theirs.load_state_dict(load_file(str(tmp_path / "ours.safetensors")))
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(), ours(Tensor(x)).numpy(),
                               rtol=1e-5, atol=1e-6)

    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    save_file(theirs.state_dict(), str(tmp_path / "theirs.safetensors"))  # PyTorch -> tinygrad_loss
    ours.load_state_dict(load(tmp_path / "theirs.safetensors"))
    np.testing.assert_allclose(ours(Tensor(x)).numpy(), theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_files_written_by_pytorch_load(tmp_path, torch):
    from safetensors.torch import save_file

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    path = tmp_path / "torch.safetensors"
    save_file(model.state_dict(), str(path))
    loaded = load(path)
    assert set(loaded) == set(model.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())
        assert loaded[key].dtype == np.float32


def test_bfloat16_files_get_a_clear_error(tmp_path, torch):
    from safetensors.torch import save_file

    path = tmp_path / "bf16.safetensors"
    save_file({"w": torch.zeros(2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(CheckpointError, match="BF16.*no numpy equivalent"):
        load(path)


# ---------------------------------------------------------------------------- atomicity

def test_crash_mid_save_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    save({"w": np.full(100, 1.0, dtype=np.float32)}, path)
    before = path.read_bytes()

    def half_then_crash(file, payload):
        file.write(payload[: len(payload) // 2])
        file.flush()
        raise OSError("simulated crash: disk full")

    monkeypatch.setattr(serialization, "_write_all", half_then_crash)
    with pytest.raises(OSError, match="simulated crash"):
        save({"w": np.full(100, 2.0, dtype=np.float32)}, path)
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["model.safetensors"]  # the temporary file was removed
    monkeypatch.undo()
    assert load(path)["w"].numpy()[0] == 1.0


def test_interrupt_mid_save_and_failed_rename_clean_up(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    save({"w": np.zeros(3, dtype=np.float32)}, path)
    before = path.read_bytes()

    def interrupted(file, payload):
        file.write(payload[:10])
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_write_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"w": np.ones(3, dtype=np.float32)}, path)
    monkeypatch.undo()

    def failing_replace(src, dst):
        raise PermissionError("simulated: cannot rename")

    monkeypatch.setattr(serialization.os, "replace", failing_replace)
    with pytest.raises(PermissionError, match="cannot rename"):
        save({"w": np.ones(3, dtype=np.float32)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["model.safetensors"]


def test_save_syncs_before_renaming(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(serialization.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(serialization.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    save({"w": np.zeros(2)}, tmp_path / "m.safetensors")
    assert events[:2] == ["fsync", "replace"]


def test_new_file_gets_normal_permissions(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": np.zeros(2)}, path)
    assert os.stat(path).st_mode & 0o400  # readable by its owner (not the 0o600 of a bare temp file only)
    os.chmod(path, 0o640)
    save({"w": np.ones(2)}, path)
    assert os.stat(path).st_mode & 0o777 == 0o640  # an overwrite keeps the old file's permissions


# ---------------------------------------------------------------------------- bad files

def test_missing_file(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(CheckpointNotFoundError, match="no checkpoint file") as info:
        load(path)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, CheckpointError)
    assert str(path) in str(info.value)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(CheckpointError, match="is a directory"):
        load(tmp_path)


def test_pickle_file_is_rejected(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"w": np.zeros(3)}, protocol=4))
    with pytest.raises(CheckpointError, match="looks like a pickle") as info:
        load(path)
    assert str(path) in str(info.value)


class _CreateMarker:
    """Unpickling this runs ``open(marker, "w")``, i.e. creates a file: a harmless stand-in for
    the arbitrary code a malicious pickle can run."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_never_runs(tmp_path):
    proof = tmp_path / "proof_the_payload_works"
    pickle.loads(pickle.dumps(_CreateMarker(str(proof)))).close()
    assert proof.exists()  # the payload does run code when unpickled ...

    marker = tmp_path / "pwned"
    for protocol in (2, 4, 5):
        path = tmp_path / f"evil{protocol}.safetensors"
        path.write_bytes(pickle.dumps(_CreateMarker(str(marker)), protocol=protocol))
        with pytest.raises(CheckpointError):
            load(path)
    assert not marker.exists()  # ... but load never unpickles it


def test_torch_save_file_is_rejected(tmp_path, torch):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(3)}, str(path))
    with pytest.raises(CheckpointError, match="zip archive"):
        load(path)


def test_random_bytes_are_rejected(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.bin"
    path.write_bytes(rng.bytes(4096))
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load(path)
    plausible = tmp_path / "noise2.bin"  # a small header length followed by garbage
    plausible.write_bytes(struct.pack("<Q", 64) + rng.bytes(200))
    with pytest.raises(CheckpointError, match="JSON"):
        load(plausible)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="fewer than the 8-byte"):
        load(empty)


@pytest.mark.parametrize("keep", [4, 30, -1, -9])
def test_truncated_files_are_rejected(tmp_path, keep):
    path = tmp_path / "full.safetensors"
    save(_mlp_state(), path)
    payload = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(payload[:keep])
    with pytest.raises(CheckpointError, match="truncated") as info:
        load(cut)
    assert str(cut) in str(info.value)


def test_absurd_header_length_is_rejected_without_reading_it(tmp_path):
    path = tmp_path / "huge_header.safetensors"
    path.write_bytes(struct.pack("<Q", 10 * 1024**3) + b'{"w": {}}')
    with pytest.raises(CheckpointError, match=r"10,737,418,240-byte header.*limit"):
        load(path)


@pytest.mark.parametrize("header, message", [
    (b"[1, 2, 3]", "JSON object"),
    (b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', "byte range"),
    (b'{"w": {"dtype": "F32", "shape": [2]}}', "malformed"),
    (b'{"w": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}', "X9"),
    (b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
     b'"v": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}', "overlap"),
    (b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]', "not valid JSON"),
])
def test_corrupt_headers_are_rejected(tmp_path, header, message):
    path = tmp_path / "corrupt.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    with pytest.raises(CheckpointError, match=message):
        load(path)


def test_no_pickle_in_the_module():
    import inspect

    source = inspect.getsource(serialization)
    assert "import pickle" not in source and "pickle.load" not in source
