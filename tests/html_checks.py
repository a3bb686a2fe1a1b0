"""Checks shared by the tests of the generated HTML pages."""

from __future__ import annotations

import re

# anything a browser would fetch: src/href that is neither an in-page #anchor nor inline data:, url() that is not url(#id), @import
EXTERNAL = re.compile(r"""(?:\b(?:src|href)\s*=\s*["'](?!#|data:)|url\(\s*["']?(?!#)|@import)""")


def external_references(html: str) -> list[str]:
    return [html[m.start():m.start() + 60] for m in EXTERNAL.finditer(html)]
