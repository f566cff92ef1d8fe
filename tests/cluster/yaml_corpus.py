"""Strings that YAML readers are tempted to read as something else (issue 9, item 3).

KNOWN is the list of the dangerous kinds, each written the ways readers
disagree on: YAML 1.1 booleans and nulls, octal/hex/binary/underscored/
sexagesimal numbers, YAML 1.2 forms (1e3, 0o10), go-yaml's own (09 is a float
there), dates, and strings whose characters need quoting (indicators,
line breaks, non-ASCII).  `yamlish()` generates more of the same shapes.
Used by tests/test_output.py (offline) and test_render_kubectl.py (kubectl).
"""

from __future__ import annotations

from hypothesis import strategies as st

WORDS = ["y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf", "infinity"]

KNOWN = [
    # YAML 1.1 booleans (go-yaml v2, PyYAML), in every case they are written
    "y", "Y", "n", "N", "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
    "true", "True", "TRUE", "false", "False", "FALSE",
    # nulls
    "~", "null", "Null", "NULL", "",
    # integers: octal 1.1 and 1.2, hex, binary, underscores, commas (Ruby), go-yaml's 09, sexagesimal
    "0o10", "0O10", "010", "0777", "09", "0x1F", "0X1f", "0b101", "0B11", "1_000", "1,000", "1__0", "0_1",
    "+12", "-0", "12", "1:30", "1:30:00", "-1:30", "60:59", "0:0", "190:20:30.15",
    # PyYAML's 1.1 patterns: only underscores after the prefix (it then fails to convert them)
    "0b_", "0x_", "-0b__", "+0x_",
    # floats: YAML 1.2 without a dot, 1.1 with one, the spec's 1.1 regex (1.2.3), infinities and NaNs
    "1e3", "1E3", "1e-3", "+1e3", "12e03", "1.0", "1.", ".5", "+.5", "-.5e-5", "0.", "1.5e+3", "0.0.0.0", "1.2.3",
    ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".nan", ".NaN", "NaN", "inf", "Infinity",
    # dates and timestamps
    "2001-12-14", "2002-1-2", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
    # YAML 1.1 merge and value keys; indicators; document markers
    "<<", "=", "-", ".", "...", "---", "--- a", "#", "#a", "! a", "&a", "*a", "@a", "`a", "%a", "|", "> x", "? x",
    "- x", "a: b", "a:", "a #b", "[a]", "{a}", "a,b", "'", '"', "\\", "'a'", '"a"',
    # whitespace, line breaks, control and non-ASCII characters
    " lead", "trail ", "a\nb", "a\n\nb", "\n", "a\tb", "a\rb", "\x1b[31m", "é", "日本", "😀", "\x85", "\u2028",
    "\ufeff", "\xa0",
    # look-alikes that are strings everywhere (written plain; must stay so)
    "1e", "0x", "e3", "yes please", "16Gi", "500m", "v1.2.3", "x" * 200,
]


def yamlish() -> st.SearchStrategy[str]:
    """Strings shaped like the dangerous ones: words in any case, number-like runs, dates, and any text."""
    word = st.sampled_from(WORDS).flatmap(lambda w: st.sampled_from([w, w.upper(), w.capitalize(), "." + w]))
    number = st.from_regex(r"\A[-+]?(0[bBoOxX])?[0-9_.,:eE+-]{1,10}\Z")
    date = st.builds(lambda y, m, d, rest: f"{y:04d}-{m}-{d}{rest}", st.integers(0, 9999), st.integers(0, 99),
                     st.integers(0, 99), st.sampled_from(["", "T1:2:3", " 10:20:30.5 -5", "t00:00:00Z"]))
    return st.one_of(st.sampled_from(KNOWN), word, number, date, st.text(max_size=20))
