"""The regions GMV figures cover, declared once (anchors, reconstruction and schemas read them).

A region's parent is the region that contains it (a part cannot exceed its whole).
"""

#: Every region a GMV anchor or a forecast can cover.
COVERAGES = (
    "global",
    "southeast_asia",
    "outside_southeast_asia",
    "indonesia",
    "united_states",
)
#: Each coverage's enclosing coverage.
PARENT = {
    "southeast_asia": "global",
    "outside_southeast_asia": "global",
    "indonesia": "southeast_asia",
    "united_states": "outside_southeast_asia",
}


def ancestors(coverage: str) -> list[str]:
    """The coverages that contain ``coverage``, nearest first (``indonesia`` -> SEA, global)."""
    out = []
    while coverage in PARENT:
        coverage = PARENT[coverage]
        out.append(coverage)
    return out
