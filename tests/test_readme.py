"""The README's Python examples run as written, without warnings."""

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run_cleanly():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile("\n".join(blocks), str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["g"].item() == 27.0 and namespace["g2"].item() == 18.0
    assert namespace["w"].grad.shape == (2, 3) and namespace["w"].name == "w"
    assert namespace["h"].grad.shape == (2, 2)
