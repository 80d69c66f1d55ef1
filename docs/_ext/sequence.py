"""A ``sequence`` directive: a sequence diagram from plain lines, drawn by
Graphviz (``sphinx.ext.graphviz``) when the docs are built.

.. sequence::
   :caption: Logging in

   Browser -> App: GET /login
   App --> Browser: 302 to the consent page
   note: anything after "note:" spans the diagram as a comment

Participants are the names left and right of the arrows, in order of first
appearance. ``->`` is a call, ``-->`` an answer (dashed).
"""

from __future__ import annotations

import re
import typing as t

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.ext.graphviz import graphviz
from sphinx.util.docutils import SphinxDirective

_LINE = re.compile(
    r"^(?P<src>[^-:]+?)\s*(?P<arrow>-->|->)\s*(?P<dst>[^:]+?)\s*:\s*(?P<label>.*)$"
)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse(lines: list[str]) -> tuple[list[str], list[tuple[str, str, str, str]]]:
    steps: list[tuple[str, str, str, str]] = []
    people: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line.startswith("note:"):
            steps.append(("note", "", "", line[5:].strip()))
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"not a sequence line: {line!r}")
        src, dst = match["src"].strip(), match["dst"].strip()
        for name in (src, dst):
            if name not in people:
                people.append(name)
        steps.append((match["arrow"], src, dst, match["label"].strip()))
    return people, steps


def to_dot(lines: list[str], *, column: float = 2.3, row: float = 0.42) -> str:
    """The DOT source of a sequence diagram, every node pinned to its place
    (lay it out with ``neato -n``): lifelines stay straight."""
    people, steps = _parse(lines)
    bottom = (len(steps) + 1) * row
    out = [
        "digraph sequence {",
        "  graph [splines=line, outputorder=edgesfirst];",
        '  node [shape=point, width=0.02, height=0.02, fontname="sans-serif"];',
        '  edge [fontname="sans-serif", fontsize=10, arrowsize=0.7];',
    ]

    def pin(name: str, x: float, y: float, attrs: str = "") -> None:
        out.append(f'  {name} [pos="{x:.2f},{-y:.2f}!"{attrs}];')

    for col, name in enumerate(people):
        x = col * column
        pin(
            f"head{col}",
            x,
            0,
            f", shape=box, style=rounded, width=1.5, height=0.32, label={_quote(name)}",
        )
        pin(f"foot{col}", x, bottom, ", style=invis")
        out.append(
            f"  head{col} -> foot{col} [style=dashed, arrowhead=none, color=gray60];"
        )
    for index, (arrow, src, dst, label) in enumerate(steps, start=1):
        y = index * row
        if arrow == "note":
            middle = (len(people) - 1) * column / 2
            pin(
                f"note{index}",
                middle,
                y,
                f", shape=note, width=3, fontsize=9, label={_quote(label)}",
            )
            continue
        a, b = people.index(src), people.index(dst)
        pin(f"s{index}", a * column, y, ", style=invis")
        pin(f"d{index}", b * column, y, ", style=invis")
        style = "dashed" if arrow == "-->" else "solid"
        out.append(f"  s{index} -> d{index} [style={style}];")
        # The label as a node of its own, just above the middle of the arrow.
        pin(
            f"l{index}",
            (a + b) * column / 2,
            y - 0.13,
            f", shape=plaintext, fontsize=10, height=0.2, label={_quote(label)}",
        )
    out.append("}")
    return "\n".join(out)


class SequenceDirective(SphinxDirective):
    """``.. sequence::`` with the diagram's lines as content."""

    has_content = True
    option_spec: t.ClassVar[dict[str, t.Any]] = {
        "caption": directives.unchanged,
        "alt": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        try:
            dot = to_dot(list(self.content))
        except ValueError as exc:
            raise self.error(str(exc)) from None
        node = graphviz()
        node["code"] = dot
        node["options"] = {"docname": self.env.docname, "graphviz_dot": "neato"}
        node["alt"] = self.options.get("alt", self.options.get("caption", ""))
        if "caption" not in self.options:
            return [node]
        figure = nodes.figure("", node)
        figure += nodes.caption(self.options["caption"], self.options["caption"])
        return [figure]


def setup(app: Sphinx) -> dict[str, t.Any]:
    app.setup_extension("sphinx.ext.graphviz")
    app.add_directive("sequence", SequenceDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
