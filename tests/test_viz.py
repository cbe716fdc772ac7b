"""Pictures of the graph (viz.draw_graph), backward frames and their slideshow / GIF.

Rendering needs graphviz's `dot`, the slideshow test headless Chromium; each test that needs
one of them is skipped (with the reason) where it is missing.
"""

import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import autograd, engine, nn, viz
from tinygrad_loss.engine import TeachingWarning
from tinygrad_loss.errors import GraphError
from tinygrad_loss.nn import functional as F  # noqa: N812 (PyTorch's spelling)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's `dot` is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def f64(value, name=None, requires_grad=True):
    return tl.tensor(np.asarray(value, dtype=np.float64), requires_grad=requires_grad, name=name)


def neuron():
    """micrograd's neuron: o = tanh(x*w + b), with every gradient kept."""
    x, w, b = f64(2.0, "x"), f64(-3.0, "w"), f64(6.8813735870195432, "b")
    with autograd.keep_grads():
        n = x * w + b
        o = n.tanh()
        o.backward()
    return x, w, b, n, o


def node_line(source, label_text):
    """The DOT line of the node whose label contains ``label_text``."""
    return next(line for line in source.splitlines() if label_text in line and "label=" in line)


def test_source_has_every_tensor_op_gradient_and_backward_step():
    x, w, b, n, o = neuron()
    source = viz.draw_graph(o).source
    for name in ("<b>x</b>", "<b>w</b>", "<b>b</b>"):
        assert name in source
    for op in ("<b>mul</b>", "<b>add</b>", "<b>tanh</b>"):
        assert op in source
    assert "grad = -1.5" in source and "grad = 1<" in source and "grad = 0.5" in source
    assert ">0.7071<" in source and ">6.881<" in source  # values with 4 significant digits
    assert "step 1" in node_line(source, "<b>tanh</b>")
    assert "step 2" in node_line(source, "<b>add</b>")
    assert "step 3" in node_line(source, "<b>mul</b>")
    # 6 tensors (x, w, b, x*w, n, o), 3 ops and the legend; edges input -> op -> output
    assert len(re.findall(r"^\s+t\d+ \[", source, re.M)) == 6
    assert len(re.findall(r"^\s+op\d+ \[", source, re.M)) == 3
    assert len(re.findall(r" -> ", source)) == 3 + 2 + 2 + 1
    assert "cluster_legend" in source and "size of the gradient" in source
    assert 'tooltip="Mul: out = a * b&#10;local derivative: d/da = b, d/db = a"' in source


def test_colours_distinguish_parameters_inputs_intermediates_and_the_loss():
    x = f64([1.0, 2.0], "x", requires_grad=False)
    layer = nn.Linear(2, 1)
    loss = ((layer(tl.tensor(x.data.astype(np.float32)[None])) - 1) ** 2).mean()
    loss.backward()
    source = viz.draw_graph(loss, names={"layer": layer}).source
    assert viz.COLOURS["parameter"] in node_line(source, "layer.weight")
    assert viz.COLOURS["loss"] in node_line(source, 'fillcolor="' + viz.COLOURS["loss"])
    assert viz.COLOURS["input"] in source and viz.COLOURS["intermediate"] in source


def test_names_from_locals_label_the_tensors():
    a = f64(1.5)
    weight = f64(-2.0)
    product = a * weight
    total = product + a
    total.backward()
    source = viz.draw_graph(total, names=locals()).source
    for name in ("a", "weight", "product", "total"):
        assert f"<b>{name}</b>" in source
    plain = viz.draw_graph(total).source
    assert "<b>product</b>" not in plain and "<b>leaf</b>" in plain


def test_large_tensors_show_summary_statistics_and_grad_norm():
    x = f64(np.arange(12.0).reshape(3, 4), "x")
    (x * 2).sum().backward()
    source = viz.draw_graph((x * 2).sum(), show_grad=False).source
    assert "mean 5.5  std 3.452" in source and "min 0  max 11" in source
    source = viz.draw_graph((x * 2).sum()).source
    assert "grad: |g| = 6.928" in source  # ‖2 * ones(3, 4)‖


def test_same_graph_same_source():
    first = viz.draw_graph(neuron()[-1]).source
    second = viz.draw_graph(neuron()[-1]).source
    assert first == second


def test_warns_when_drawing_gradients_before_backward():
    engine._warned.discard("viz no grad")
    x = f64(1.0, "x")
    with pytest.warns(TeachingWarning, match="gradients will be empty: call backward"):
        viz.draw_graph(x * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        viz.draw_graph(x * 2, show_grad=False)


def test_max_nodes_refuses_a_huge_graph_and_suggests_collapse():
    x = f64(1.0, "x")
    y = x
    for _ in range(150):
        y = y * 1.01
    with pytest.raises(ValueError, match=r"graph has 451 nodes, more than max_nodes=200.*collapse=") as error:
        viz.draw_graph(y, show_grad=False)
    assert "smaller input" in str(error.value)
    assert viz.draw_graph(y, show_grad=False, max_nodes=500).source


def mlp_step(record=True):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    x = tl.tensor(np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32))
    y = tl.tensor(np.array([0, 1, 1, 0, 1]))
    if record:
        with viz.record_modules():
            loss = F.cross_entropy(model(x), y)
    else:
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    return model, loss


def test_collapse_draws_each_layer_as_one_box():
    model, loss = mlp_step()
    full = viz.draw_graph(loss).source
    assert full.count("<b>linear</b><br/>") == 2  # nn.Linear is one fused op node
    source = viz.draw_graph(loss, names={"model": model}, collapse=[model[0], model[2]]).source
    assert "Linear(4→3)" in source and "Linear(3→2)" in source
    assert "<b>linear</b><br/>" not in source  # inside the boxes
    assert "<b>tanh</b>" in source and "<b>crossentropy</b>" in source  # outside them
    assert "model.0.weight" in source and "model.2.bias" in source  # parameters still drawn, with grads
    assert "1 op  ·  step 2" in source and "1 op  ·  step 4" in source
    whole = viz.draw_graph(loss, collapse=model).source
    assert "Sequential()" in whole and "<b>tanh</b>" not in whole


def test_collapse_without_recording_finds_layers_by_their_parameters():
    model, loss = mlp_step(record=False)
    source = viz.draw_graph(loss, collapse=[model[0], model[2]]).source
    assert "Linear(4→3)" in source and "<b>linear</b><br/>" not in source
    with pytest.raises(ValueError, match="record_modules"):
        viz.draw_graph(loss, collapse=model[1])  # Tanh() has no parameters to find it by


@needs_dot
def test_renders_svg_and_png(tmp_path):
    graph = viz.draw_graph(neuron()[-1])
    svg = graph.pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "mul" in svg
    assert "grad = &#45;1.5" in svg  # dot writes "-" as an entity
    png = tmp_path / "neuron.png"
    png.write_bytes(graph.pipe(format="png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    assert "<svg" in graph._repr_image_svg_xml()  # what Jupyter shows


# ----------------------------------------------------------------------------- frames


def reused():
    """x is used three times: its gradient is a sum of three contributions."""
    x, a = f64(0.5, "x"), f64(-1.5, "a")
    u = x * a
    v = u * x + x
    return x, a, v.tanh()


def test_frames_one_per_step_plus_first_and_last():
    x, a, out = reused()
    frames = viz.backward_frames(out, names={"x": x, "a": a})
    assert len(frames) == 4 + 2
    first, *steps, last = (f.source for f in frames)
    assert "grad =" not in first and "grad ?" not in first and "grad:" not in first
    assert frames[0].caption.startswith("Forward pass: 4 ops")
    for k, source in enumerate(steps, start=1):
        assert source.count(viz.COLOURS["highlight"]) == 1  # exactly one op is highlighted
        assert f"step {k}" in node_line(source, viz.COLOURS["highlight"])
        assert frames[k].caption.startswith(f"Step {k} of 4")
    assert "grad ?" in steps[0] and "grad ?" not in last
    # x receives 1 - tanh² from Add (step 2), then u's gradient... the running sum shows each part
    assert re.search(r"grad = 0\.9845 \+ \(-0\.7384\) = 0\.2461  \(so far\)", steps[2])
    assert re.search(r"grad = 0\.9845 \+ \(-0\.7384\) \+ \(-0\.7384\) = -0\.4923<", last)
    assert "x is used more than once" in frames[3].caption
    assert frames[-1].caption.startswith("Done")


def test_frames_change_no_gradient_and_keep_the_graph():
    x, a, out = reused()
    viz.backward_frames(out)
    assert x.grad is None and a.grad is None
    out.backward(retain_graph=True)
    x2, a2, out2 = reused()
    out2.backward()
    assert x.grad.item() == pytest.approx(x2.grad.item()) and a.grad.item() == pytest.approx(a2.grad.item())
    before = x.grad.item()
    viz.backward_frames(out)  # gradients already there: still untouched
    assert x.grad.item() == before
    out.backward()  # frees the graph: now there is nothing left to step through
    with pytest.raises(GraphError, match="backward_frames: the graph was freed by an earlier backward"):
        viz.backward_frames(out)


@needs_dot
def test_frames_share_one_layout():
    import json

    x, a, out = reused()
    frames = viz.backward_frames(out)
    positions = []
    for frame in frames:  # measured from the top: the caption below the graph changes its height
        layout = json.loads(frame.pipe(format="json0"))
        height = float(layout["bb"].split(",")[3])
        positions.append({o["name"]: (float(o["pos"].split(",")[0]), height - float(o["pos"].split(",")[1]))
                          for o in layout["objects"] if "pos" in o})
    assert len(positions[0]) == 11 and all(p == positions[0] for p in positions)


@needs_dot
def test_gif_has_one_frame_per_picture(tmp_path):
    from PIL import Image

    x, a, out = reused()
    frames = viz.backward_frames(out)
    path = viz.save_animation(frames, tmp_path / "backprop.gif")
    assert path.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    with Image.open(path) as gif:
        assert gif.n_frames == len(frames) == 6
        assert gif.info.get("loop") == 0


@needs_dot
def test_html_slideshow_is_self_contained(tmp_path):
    x, a, out = reused()
    frames = viz.backward_frames(out, names={"x": x})
    page = viz.save_animation(frames, tmp_path / "backprop.html").read_text()
    assert page.count("<svg") == 6 and 'id="counter">1 / 6<' in page
    assert "ArrowRight" in page and "ArrowLeft" in page and "autoplay" in page and "#frame=" in page
    assert not re.search(r"(src|href)=\"https?://", page)  # nothing fetched from the network
    assert "Step 2 of 4: Add" in page
    with pytest.raises(ValueError, match="use .html or .gif"):
        viz.save_animation(frames, tmp_path / "x.mp4")


def chromium(*args, profile):
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@needs_dot
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (bash .ci/setup --dev installs it)")
def test_slideshow_steps_in_headless_chromium(tmp_path):
    from PIL import Image

    x, a, out = reused()
    page = viz.save_animation(viz.backward_frames(out, names={"x": x, "a": a}), tmp_path / "backprop.html")
    profile = tmp_path / "profile"
    dom = chromium("--dump-dom", f"{page.as_uri()}?autoplay=next,next", profile=profile)
    assert dom.returncode == 0, dom.stderr
    assert re.search(r'id="counter">3 / 6<', dom.stdout)  # the page's own JS pressed "next" twice
    assert "Step 2 of 4: Add" in re.search(r'id="caption">([^<]*)<', dom.stdout).group(1)
    dom = chromium("--dump-dom", f"{page.as_uri()}#frame=5", profile=profile)
    assert 'id="counter">5 / 6<' in dom.stdout
    shot = tmp_path / "slideshow.png"
    result = chromium(f"--screenshot={shot}", "--window-size=1200,800", f"{page.as_uri()}#frame=4",
                      profile=profile)
    assert result.returncode == 0, result.stderr
    with Image.open(shot) as image:
        assert image.size == (1200, 800)
        colours = image.convert("RGB").getcolors(1_000_000)
        assert len(colours) > 50  # a drawn page, not a blank one
    print(f"slideshow screenshot: {shot}")
