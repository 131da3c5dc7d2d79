"""Exports of an IAMA record: Markdown, HTML, PDF, JSON, Algoritmeregister 1.0, AI Act art. 27 and art. 5 views."""
