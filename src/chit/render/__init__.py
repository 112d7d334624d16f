"""Rendering: the only code that knows about JSON output, colour and tables.

`json_out` is cheap to import; `human` pulls in rich and is imported only
when a human-readable result is printed.
"""
