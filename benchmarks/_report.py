"""Shared helpers for benchmark scripts: provenance header and results files.

Tables are written by the package's own writer, re-exported here.
"""

import argparse
import platform
import shlex
import sys
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import torch

from sklearn_ae._report import markdown_table  # noqa: F401 (re-exported)

RESULTS = Path(__file__).parent / "results"


def provenance():
    """Markdown lines naming the command, date, package versions and machine."""
    packages = ["sklearn-ae", "scikit-learn", "torch", "skorch", "numpy"]
    versions = ", ".join(f"{p} {version(p)}" for p in packages)
    # Quoted as a shell needs it, so the line can be pasted back (JSON arguments have spaces).
    command = shlex.join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    gpu = f", GPU: {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return [
        f"- command: `{command}`",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- versions: Python {platform.python_version()}, {versions}",
        f"- machine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"{platform.processor() or platform.platform()}{gpu}",
    ]


def write_result(name, title, body, tag=""):
    """Write ``results/<name>.md`` with a title, provenance and body lines; return the path.

    A ``tag`` (a script's ``--tag``) names one of several runs of a script: it is appended to
    the file name (``<name>_<tag>.md``) and, in parentheses, to the title, so that the runs'
    sections on the Benchmarks page are told apart.
    """
    RESULTS.mkdir(exist_ok=True)
    if tag:
        name, title = f"{name}_{tag}", f"{title} ({tag})"
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join([f"# {title}", "", *provenance(), "", *body, ""]))
    return path


def generator_parser(description):
    """Command line of the scripts that fit generative models per data set and seed.

    ``--data`` (comma-separated data sets, digits and MNIST-5k by default),
    ``--seeds`` (comma-separated model seeds, 0-2) and ``--n-components`` (10).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default="digits,mnist", help="comma-separated data sets")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated model seeds")
    parser.add_argument("--n-components", type=int, default=10)
    return parser
