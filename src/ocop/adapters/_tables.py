"""Plain-text tables for the command line."""

from __future__ import annotations

from collections.abc import Sequence

from ocop.domain.tender import PaymentLine


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Render rows under headers in aligned columns."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def lines_table(lines: Sequence[PaymentLine]) -> str:
    """An order's payment lines: payment, status and the money on each."""
    return table(
        ["line", "payment", "status", "amount", "authorized", "captured", "refunded"],
        [
            [
                line.line_id,
                line.card.display if line.card else line.method,
                line.status,
                line.amount,
                line.authorized,
                line.captured,
                line.refunded,
            ]
            for line in lines
        ],
    )
