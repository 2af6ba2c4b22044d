"""A static-files finder for plotly.min.js from the installed plotly wheel.

The stack rules out npm and vendored third-party JS, so the browser gets the
exact file the Python package ships, under ``/static/plotly/plotly.min.js``
(served by WhiteNoise like any static file). Only that one file is exposed:
adding the whole ``package_data`` folder to STATICFILES_DIRS would also
publish plotly's bundled data sets and widget bundle.
"""
from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PUBLIC_PATH = "plotly/plotly.min.js"
_PACKAGE_DATA = Path(plotly.__file__).resolve().parent / "package_data"


class _PlotlyStorage(FileSystemStorage):
    def __init__(self):
        super().__init__(location=str(_PACKAGE_DATA))
        self.prefix = "plotly"


class PlotlyFinder(BaseFinder):
    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != PUBLIC_PATH:
            return [] if find_all else None
        match = str(_PACKAGE_DATA / "plotly.min.js")
        return [match] if find_all else match

    def list(self, ignore_patterns):
        yield "plotly.min.js", _PlotlyStorage()
