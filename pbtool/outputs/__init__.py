"""Stage 7: renderers of result objects (terminal, JSON, xlsx); Word documents live in pbtool.report."""
