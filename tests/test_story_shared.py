"""What `explain --steps` does fast must not change what it shows.

The story shares the trees it builds in names only across steps and networks (Writer.once;
math_text prints a tree it saw by identity): a story told after other networks' stories is the one
told first, in the terminal and in the page's stepper.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.io import netfile
from chainrule.record.step import explain_steps
from chainrule.views import math_text, text, writer
from chainrule.views.story import parts
from helpers import CASES, odd_document


def _told(doc: dict[str, object]) -> tuple[str, list[str]]:
    """A network's two steps as the terminal shows them, and its parts as the page's stepper cuts them."""
    records = explain_steps(netfile.from_dict(doc), 0, 2)
    shown = text.plain_text(text.render_records(records))
    stepper = [repr(p) for r in records for p in parts([r], 4, None, figures=False, max_terms=2)]
    return shown, stepper


def _forget() -> None:
    writer._SHARED.clear()
    for cache in (math_text._SEEN, math_text._BY_ID, math_text._NUMS):
        cache.clear()


@pytest.mark.parametrize(("loss", "output"), CASES)
def test_a_story_is_the_same_after_other_networks(loss: str, output: str) -> None:
    rng = np.random.default_rng(len(loss) * 31 + len(output))
    first, second = odd_document(rng, loss, output), odd_document(rng, loss, output)
    _forget()
    alone = _told(first)
    _forget()
    _told(second)
    assert _told(first) == alone  # after another network's story, with its shared trees about
    assert _told(first) == alone  # and told again, every tree found shared
