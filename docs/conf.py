"""Sphinx configuration of the cartrial documentation site (`make docs`; decisions D-20.2).

The site is built with warnings as errors (``sphinx-build -W``): MyST Markdown pages (the area guides,
the science pages, the CSV template docs), MyST-NB tutorials executed at every build, the API reference
generated from the docstrings of each package's public API (its ``__all__``) and the CLI reference
generated from the command tree (`cartrial_cli`). Nothing is fetched from the network."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import cartrial  # noqa: E402

project = "cartrial"
author = "cartrial developers"
copyright = "cartrial developers, Apache-2.0"
version = release = cartrial.__version__

extensions = [
    "myst_nb",  # MyST Markdown + executed notebooks (includes myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "cartrial_api",
    "cartrial_cli",
    "cartrial_links",
    "cartrial_toc",
]

root_doc = "index"
exclude_patterns = [
    "_build",
    "**/.ipynb_checkpoints",
    "templates/*.csv",
    "templates/__init__.py",
    "templates/__pycache__",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}

# MyST: GitHub-style heading anchors so that `page.md#d-3-2-...` links of the Markdown sources resolve
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]

# MyST-NB: every tutorial is executed at every build; an error in a cell fails the build
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 300
nb_merge_streams = True

# autodoc: the public API, members in source order, signatures with type hints in the description
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True, "show-inheritance": True}
# docstrings name code as `name` (Markdown habit): render it as a cross-reference when it resolves
default_role = "py:obj"

html_theme = "pydata_sphinx_theme"
html_title = f"cartrial {release}"
html_theme_options = {
    # no public project address yet (README); no external links, no analytics, nothing from the network
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path = ["_static"]
html_css_files = ["cartrial.css"]
html_show_sourcelink = False
html_copy_source = False

# Google-style sections of the docstrings (Attributes:, Args:, Returns:)
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True

# the theme's colour mode when the reader has not chosen one (without it the theme logs a console error on
# a first visit)
html_context = {"default_mode": "auto"}
