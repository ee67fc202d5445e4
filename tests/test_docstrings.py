"""Every public class, method and function documents its parameters, in signature order.

numpydoc's own validator reads each docstring the way the API docs render it.
"""

import inspect

import pytest
from numpydoc.validate import validate

import sklearn_ae
from sklearn_ae import compare, datasets, plotting

# No docstring; parameters missing, unknown or out of order; no Returns section; a
# parameter without a type, or without a description.
CHECKS = {"GL08", "PR01", "PR02", "PR03", "PR04", "PR07", "PR10", "RT01"}


def _defined_here(obj):
    return getattr(obj, "__module__", "").startswith("sklearn_ae")


def public_names():
    """Import paths of the public API: the estimators and their methods, and the public
    functions and classes of the public modules."""
    names = []
    for module, members in [
        (sklearn_ae, sklearn_ae.__all__),
        (compare, dir(compare)),
        (datasets, dir(datasets)),
        (plotting, dir(plotting)),
    ]:
        for name in members:
            obj = getattr(module, name)
            home = getattr(obj, "__module__", None)
            defined_in_module = module is sklearn_ae or home == module.__name__
            if name.startswith("_") or not _defined_here(obj) or not defined_in_module:
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            path = f"{module.__name__}.{name}"
            names.append(path)
            if inspect.isclass(obj):
                names += [
                    f"{path}.{attr}"
                    for attr, member in inspect.getmembers(obj, inspect.isfunction)
                    if not attr.startswith("_") and _defined_here(member)
                ]
    return sorted(set(names))


@pytest.mark.parametrize("name", public_names())
def test_docstring_follows_numpydoc(name):
    errors = [f"{code}: {message}" for code, message in validate(name)["errors"] if code in CHECKS]
    assert not errors, "\n".join(errors)
