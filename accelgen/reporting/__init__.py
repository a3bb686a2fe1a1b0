"""HTML pages people look at: report.html of a build and the page of an evaluation (plots as inline SVG)."""
