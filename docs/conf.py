"""Sphinx configuration for the sklearn-ae documentation."""

import sklearn_ae

project = "sklearn-ae"
author = "the sklearn-ae developers"
release = sklearn_ae.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "reference_url": {"sklearn_ae": None},
    "remove_config_comments": True,
}

# The benchmarks page includes the results files, which are markdown.
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_enable_extensions = []

templates_path = ["_templates"]
exclude_patterns = ["_build"]
html_theme = "pydata_sphinx_theme"
html_title = "sklearn-ae"
html_theme_options = {"navigation_with_keys": False}
