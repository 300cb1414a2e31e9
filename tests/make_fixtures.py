"""Build the fixture notebooks under tests/notebooks/ (run once; the outputs are committed).

Each is named for the case it covers, as papermill names its own (``broken1.ipynb``).
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent / "notebooks"
KERNEL = {"name": "shopcast", "display_name": "Python (shopcast)", "language": "python"}


def params_cell(source: str):
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


def write(name: str, cells: list) -> None:
    nb = new_notebook(
        cells=cells, metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}}
    )
    nbformat.write(nb, HERE / f"{name}.ipynb")


PARAMS = """n = 10  # how many values to sum
scale = 2.5  # multiplier applied to the sum
label = "demo"  # a word shown in the report
start = "2023-01-01"  # an ISO date
"""

write(
    "simple",
    [
        new_markdown_cell("# Simple fixture report\n\nA sum, a chart and a headline value."),
        params_cell(PARAMS),
        new_code_cell(
            "import datetime as dt\nimport matplotlib.pyplot as plt\n"
            "from shopcast import publish\n"
            "total = sum(range(n)) * scale\nday = dt.date.fromisoformat(start)"
        ),
        new_code_cell(
            "fig, ax = plt.subplots(figsize=(4, 3))\nax.plot(range(n))\n"
            "ax.set_title(label)\nplt.show()"
        ),
        new_code_cell(
            "publish('total', total, label='Total', fmt=',.1f')\n"
            "publish('year', day.year, label='Year')\nprint('total is', total)"
        ),
    ],
)

write(
    "broken1",
    [
        new_markdown_cell("# Broken fixture\n\nThe second code cell raises."),
        params_cell("divisor = 0  # dividing by it fails when zero\n"),
        new_code_cell("from shopcast import publish\npublish('before', 1.0)"),
        new_code_cell("value = 1 / divisor"),
        new_code_cell("print('never reached')"),
    ],
)

write(
    "sleeper",
    [
        new_markdown_cell("# Sleeper fixture\n\nSleeps longer than a short timeout."),
        params_cell("seconds = 60  # how long to sleep\n"),
        new_code_cell("import time\ntime.sleep(seconds)"),
    ],
)

write(
    "suicide",
    [
        new_markdown_cell("# Kernel death fixture\n\nThe kernel exits abruptly."),
        params_cell("code = 9  # the exit code of the kernel process\n"),
        new_code_cell("import os\nos._exit(code)"),
    ],
)

write(
    "unpublishable",
    [
        new_markdown_cell("# Unpublishable headline fixture"),
        params_cell("x = 1  # unused in spirit, used in fact\n"),
        new_code_cell("from shopcast import publish\npublish('obj', object() if x else None)"),
    ],
)

write(
    "external_image",
    [
        new_markdown_cell("# External image fixture\n\nAn output that would load a URL."),
        params_cell('url = "https://example.com/chart.png"  # an image on the web\n'),
        new_code_cell(
            "from IPython.display import HTML, display\ndisplay(HTML(f'<img src=\"{url}\">'))"
        ),
    ],
)

write(
    "scripted",
    [
        new_markdown_cell("# Script output fixture\n\nA JavaScript output next to text."),
        params_cell('message = "kept"  # text that must reach the report\n'),
        new_code_cell(
            "from IPython.display import Javascript, display\n"
            "display(Javascript('document.title = 1'))\nprint(message)"
        ),
    ],
)

# Faults (tests/test_faults.py): temp files in the kernel, and a kernel that signals its runner.
TEMPFILES = """import os, tempfile
from shopcast import publish
folder = tempfile.mkdtemp(prefix="prophet_model")
open(os.path.join(folder, "model.stan"), "w").write("leftover")
publish("tmpdir", tempfile.gettempdir())"""

write(
    "tempfiles",
    [
        new_markdown_cell("# Temp files fixture\n\nLeaves files in the temporary folder."),
        params_cell("n = 1  # unused\n"),
        new_code_cell(TEMPFILES),
    ],
)

write(
    "signals_runner",
    [
        new_markdown_cell("# Signal fixture\n\nThe kernel sends a signal to the runner."),
        params_cell('sig = "SIGTERM"  # the signal sent to the runner\n'),
        new_code_cell(
            "import os, signal, time\nos.kill(os.getppid(), getattr(signal, sig))\ntime.sleep(60)"
        ),
    ],
)
