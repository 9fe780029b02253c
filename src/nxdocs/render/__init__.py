"""Renderers: one page model to HTML, PDF, PNG pages and PPTX, styled by a theme.

`render` is the entry point for exports; the per-format functions are public
for callers that need one step (the API returns HTML inline, for instance).
"""

from nxdocs.render.exporter import ExportFormat, RenderedFile, render
from nxdocs.render.html import PageSize, render_html
from nxdocs.render.http_images import HttpImageLoader
from nxdocs.render.image_budget import ImageBudget
from nxdocs.render.images import (
    ConcurrentImageLoader,
    ImageLoader,
    LoadedImage,
    decode_data_uri,
    load_image,
)
from nxdocs.render.pdf import render_pdf
from nxdocs.render.png import render_png_zip
from nxdocs.render.pptx import render_pptx
from nxdocs.render.themes import (
    BUILTIN_THEMES,
    DEFAULT_THEME_ID,
    Theme,
    ThemeColors,
    UnknownThemeError,
    get_theme,
)

__all__ = [
    "BUILTIN_THEMES",
    "DEFAULT_THEME_ID",
    "ConcurrentImageLoader",
    "ExportFormat",
    "HttpImageLoader",
    "ImageBudget",
    "ImageLoader",
    "LoadedImage",
    "PageSize",
    "RenderedFile",
    "Theme",
    "ThemeColors",
    "UnknownThemeError",
    "decode_data_uri",
    "get_theme",
    "load_image",
    "render",
    "render_html",
    "render_pdf",
    "render_png_zip",
    "render_pptx",
]
