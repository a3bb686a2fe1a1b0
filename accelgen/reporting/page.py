"""A self-contained HTML page: inline CSS, inline SVG, no scripts, nothing fetched from the network."""

from __future__ import annotations

from html import escape

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { padding: 0.2em 0.7em; border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.8em 0; } figcaption { font-size: 0.85em; color: #555; }
svg { max-width: 100%; height: auto; }
"""


def html_page(title: str, sections: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n")


def section(section_id: str, title: str, *parts: str) -> str:
    return f'<section id="{section_id}">\n<h2>{escape(title)}</h2>\n' + "\n".join(parts) + "\n</section>"


def paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def figure(svg: str, caption: str) -> str:
    return f"<figure>\n{svg}\n<figcaption>{escape(caption)}</figcaption>\n</figure>"


def table(rows: list[tuple[str, ...]], numeric: tuple[int, ...] = (), table_id: str = "") -> str:
    """The first row is the header; columns in ``numeric`` are right-aligned."""
    head = "".join(f"<th>{escape(c)}</th>" for c in rows[0])
    body = "\n".join("<tr>" + "".join(f'<td class="num">{escape(c)}</td>' if i in numeric else f"<td>{escape(c)}</td>"
                                      for i, c in enumerate(r)) + "</tr>" for r in rows[1:])
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}>\n<tr>{head}</tr>\n{body}\n</table>"
