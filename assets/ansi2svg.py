#!/usr/bin/env python3
"""Turns a terminal capture with SGR colours (`tmux capture-pane -e -p`) into an SVG.

    tmux new-session -d -s shot -x 120 -y 40 'nbwatch --demo'
    tmux capture-pane -t shot -e -p | assets/ansi2svg.py > assets/dashboard-120x40.svg

Only what a capture contains is handled: SGR colours (16, 256 and RGB), bold,
reverse video and resets. Wide (CJK) characters take two cells.
"""
import html
import re
import sys
import unicodedata

PALETTE16 = [
    "#1e1e1e", "#e05561", "#8cc265", "#d18f52", "#4aa5f0", "#c162de", "#42b3c2", "#d7dae0",
    "#5c6370", "#ff616e", "#a5e075", "#f0a45d", "#4dc4ff", "#de73ff", "#4cd1e0", "#ffffff",
]
FG, BG = "#d7dae0", "#1e1e1e"
CELL_W, CELL_H, FONT = 8.4, 17, 14


def color256(n):
    if n < 16:
        return PALETTE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (v, v, v)


def width(ch):
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def parse(text):
    """Yields rows of (char, fg, bg, bold) cells."""
    rows = []
    fg, bg, bold, rev = None, None, False, False
    for line in text.split("\n"):
        row = []
        for part in re.split(r"(\x1b\[[0-9;]*m)", line):
            if part.startswith("\x1b["):
                codes = [int(c) if c else 0 for c in part[2:-1].split(";")]
                i = 0
                while i < len(codes):
                    c = codes[i]
                    if c == 0:
                        fg, bg, bold, rev = None, None, False, False
                    elif c == 1:
                        bold = True
                    elif c == 22:
                        bold = False
                    elif c == 7:
                        rev = True
                    elif c == 27:
                        rev = False
                    elif 30 <= c <= 37:
                        fg = PALETTE16[c - 30]
                    elif 90 <= c <= 97:
                        fg = PALETTE16[c - 90 + 8]
                    elif 40 <= c <= 47:
                        bg = PALETTE16[c - 40]
                    elif 100 <= c <= 107:
                        bg = PALETTE16[c - 100 + 8]
                    elif c == 39:
                        fg = None
                    elif c == 49:
                        bg = None
                    elif c in (38, 48) and i + 1 < len(codes):
                        if codes[i + 1] == 5 and i + 2 < len(codes):
                            col = color256(codes[i + 2])
                            i += 2
                        elif codes[i + 1] == 2 and i + 4 < len(codes):
                            col = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                            i += 4
                        else:
                            col = None
                        if c == 38:
                            fg = col
                        else:
                            bg = col
                    i += 1
                continue
            for ch in part:
                f, b = (fg or FG), (bg or BG)
                if rev:
                    f, b = b, f
                row.append((ch, f, b, bold))
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def main():
    rows = parse(sys.stdin.read())
    cols = max((sum(width(c[0]) for c in r) for r in rows), default=80)
    w, h = cols * CELL_W + 16, len(rows) * CELL_H + 16
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
        f'font-size="{FONT}">',
        f'<rect width="100%" height="100%" rx="6" fill="{BG}"/>',
    ]
    for y, row in enumerate(rows):
        x = 0
        base = 8 + y * CELL_H
        for ch, f, b, bold in row:
            cw = width(ch)
            px = 8 + x * CELL_W
            if b != BG:
                out.append(f'<rect x="{px:.1f}" y="{base}" width="{CELL_W * cw:.1f}" height="{CELL_H}" fill="{b}"/>')
            if ch != " ":
                weight = ' font-weight="bold"' if bold else ""
                out.append(
                    f'<text x="{px:.1f}" y="{base + CELL_H - 4}" fill="{f}"{weight}>{html.escape(ch)}</text>'
                )
            x += cw
    out.append("</svg>")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
