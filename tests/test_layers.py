"""The package's layers, as docs/contributing.rst lists them: no module imports from a lower one."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "sklearn_ae"


def documented_layers():
    """{module: layer index} from the literal block of the contributor page."""
    text = (ROOT / "docs" / "contributing.rst").read_text()
    block = text.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    layers = {}
    index = 0
    for line in block.splitlines():
        if line.startswith("    ") and not line.startswith("     "):
            names = re.split(r"\s{2,}", line.strip())[0]
            for name in names.split(","):
                layers[name.strip()] = index
            index += 1
    return layers


def sibling_imports(path):
    """Names of the package's modules that the module at ``path`` imports, anywhere in it."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn_ae."):
            names.add(node.module.split(".")[1])
    return names


MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def test_every_module_is_in_the_documented_layers():
    assert sorted(documented_layers()) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_only_from_its_layer_or_above(module):
    layers = documented_layers()
    below = {
        name
        for name in sibling_imports(PACKAGE / f"{module}.py")
        if name in layers and layers[name] > layers[module]
    }
    assert not below, f"{module} imports {sorted(below)} from lower layers"
