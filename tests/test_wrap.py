"""Lines too long for the terminal break exactly where rich breaks them (views/wrap.py), and the
terminal's Lines, printed without rich's cropping, print exactly what rich's Text would."""

from __future__ import annotations

import io
from collections.abc import Iterator

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from chainrule.views import wrap
from chainrule.views.text import Lines

# What a story's lines are made of (letters, digits, its notation), with spaces in runs, a no-break
# space, and characters that are not one cell wide: a wide one, a combining one.
STORY = "abwxyz019 ·=+()_/" + "⁽¹²⁾∂−≈σδŷ→√Σ"
OTHER = "\u00a0漢\u0302"  # (no tab: escape.terminal shows every control character)
lines = st.text(st.sampled_from(STORY + "    "), max_size=160) | st.text(
    st.sampled_from(STORY + OTHER + "  "), max_size=120
)
widths = st.integers(1, 100)


class Raw:
    """Segments handed to rich as they are."""

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        yield from self.segments


def printed(renderable: object, width: int, crop: bool = True) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None, highlight=False)
    console.print(renderable, crop=crop)
    out = console.file.getvalue()
    assert isinstance(out, str)
    return out


@given(lines, widths)
def test_a_line_breaks_where_rich_breaks_it(line: str, width: int) -> None:
    pieces = wrap.wrapped(line, width)
    if pieces is None:
        assert not wrap.one_cell_wide(line)
        return
    assert "".join(p + "\n" for p in pieces) == printed(Text(line), width)
    assert all(len(p) <= width for p in pieces)


@given(st.lists(st.tuples(lines, st.booleans(), st.booleans()), max_size=6), widths)
def test_lines_print_as_rich_prints_each_line(items: list[tuple[str, bool, bool]], width: int) -> None:
    """Styled or not, wrapped or (a matrix row) cropped: uncropped Lines print what rich's Texts print."""
    bold = Style(bold=True)
    lines_ = Lines([])
    expected = []
    for line, styled, wraps in items:
        lines_.items.append((line, bold if styled else None, wraps))
        if wraps:
            expected.append(printed(Text(line, style=bold if styled else ""), width))
        else:  # a matrix row as it was printed before: one segment, cropped by rich at the edge
            expected.append(printed(Raw([Segment(line, bold if styled else None), Segment.line()]), width))
    assert printed(lines_, width, crop=False) == "".join(expected)
    assert lines_.plain(Console(file=io.StringIO(), width=width)) == "".join(expected)


def test_the_story_characters_are_one_cell_wide() -> None:
    assert wrap.one_cell_wide("∂L/∂w5 = δ_h1⁽¹⁾·x1⁽¹⁾ − 0.5 ≈ ŷ → σ′(z) Σ √")
    assert not wrap.one_cell_wide("漢") and not wrap.one_cell_wide("y\u0302") and not wrap.one_cell_wide("\t")
    assert wrap.wrapped("w漢 w", 2) is None
    assert wrap.wrapped("ab cd", 3) == ["ab ", "cd"]  # a space that fits stays, as rich keeps it
