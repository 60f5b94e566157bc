"""Lines that are markup only, with no words to search: cross-reference labels.

A MyST target `(shell-completion)=` or a reST target `.. _shell-completion:` sits on its own
line above a heading. Chunked, it became a one-line chunk whose few tokens all match the topic,
so it ranked first for it; blanked (line numbers kept), it joins no chunk. Labels above a page's
first heading are kept: they name the page (`.. _arrays.datetime:`), and a hit on them opens the
page at its top, where the reader should start (dropped, NumPy's "dates and times in arrays" lost
its page). A file that is little more than its labels (a reference page made of
`.. _routines.fft:` and an `automodule` directive) keeps them: there the label is most of what
names the page.
"""

from __future__ import annotations

import re

_LABEL = re.compile(
    r"^[ \t]*(?:"
    r"\([^()\s]+\)="  # MyST target: (label)=
    r"|\.\.[ \t]+_[^:\n]+:(?:[ \t]+\S+)?"  # reST target: .. _label:  (or .. _name: https://...)
    r")[ \t]*$",
    re.M,
)


MIN_WORDS_LEFT = 10  # fewer words than this once the labels are gone: keep the labels


def blank_label_lines(text: str, keep_before: int | None = None) -> str:
    """The text with every label line emptied (the other lines keep their numbers), unless that
    leaves fewer than MIN_WORDS_LEFT words. Labels on lines before `keep_before` (1-based: the first
    heading's line) stay."""
    if keep_before is None:
        blanked = _LABEL.sub("", text)
    else:
        lines = text.splitlines(keepends=True)
        blanked = "".join(lines[: keep_before - 1]) + _LABEL.sub("", "".join(lines[keep_before - 1 :]))
    return blanked if len(blanked.split()) >= MIN_WORDS_LEFT else text
