"""Jinja2 templates of the exports (a package so that the files ship in the wheel)."""
