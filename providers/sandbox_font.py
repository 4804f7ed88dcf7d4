"""A 5x7 bitmap font for the sandbox's video frames (no Pillow, no font file): capital letters, digits and common
punctuation, drawn here by hand. Lower case is drawn as capitals, accents are dropped, anything else is a hollow box."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Seven rows of five pixels per glyph, rows separated by "|", "#" = ink.
_GLYPHS = {
    "A": ".###.|#...#|#...#|#####|#...#|#...#|#...#",
    "B": "####.|#...#|#...#|####.|#...#|#...#|####.",
    "C": ".###.|#...#|#....|#....|#....|#...#|.###.",
    "D": "####.|#...#|#...#|#...#|#...#|#...#|####.",
    "E": "#####|#....|#....|####.|#....|#....|#####",
    "F": "#####|#....|#....|####.|#....|#....|#....",
    "G": ".###.|#...#|#....|#.###|#...#|#...#|.####",
    "H": "#...#|#...#|#...#|#####|#...#|#...#|#...#",
    "I": ".###.|..#..|..#..|..#..|..#..|..#..|.###.",
    "J": "..###|...#.|...#.|...#.|...#.|#..#.|.##..",
    "K": "#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#",
    "L": "#....|#....|#....|#....|#....|#....|#####",
    "M": "#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#",
    "N": "#...#|#...#|##..#|#.#.#|#..##|#...#|#...#",
    "O": ".###.|#...#|#...#|#...#|#...#|#...#|.###.",
    "P": "####.|#...#|#...#|####.|#....|#....|#....",
    "Q": ".###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#",
    "R": "####.|#...#|#...#|####.|#.#..|#..#.|#...#",
    "S": ".####|#....|#....|.###.|....#|....#|####.",
    "T": "#####|..#..|..#..|..#..|..#..|..#..|..#..",
    "U": "#...#|#...#|#...#|#...#|#...#|#...#|.###.",
    "V": "#...#|#...#|#...#|#...#|#...#|.#.#.|..#..",
    "W": "#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.",
    "X": "#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#",
    "Y": "#...#|#...#|.#.#.|..#..|..#..|..#..|..#..",
    "Z": "#####|....#|...#.|..#..|.#...|#....|#####",
    "0": ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",
    "1": "..#..|.##..|..#..|..#..|..#..|..#..|.###.",
    "2": ".###.|#...#|....#|...#.|..#..|.#...|#####",
    "3": "####.|....#|....#|.###.|....#|....#|####.",
    "4": "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",
    "5": "#####|#....|####.|....#|....#|#...#|.###.",
    "6": "..##.|.#...|#....|####.|#...#|#...#|.###.",
    "7": "#####|....#|...#.|..#..|.#...|.#...|.#...",
    "8": ".###.|#...#|#...#|.###.|#...#|#...#|.###.",
    "9": ".###.|#...#|#...#|.####|....#|...#.|.##..",
    " ": ".....|.....|.....|.....|.....|.....|.....",
    ".": ".....|.....|.....|.....|.....|.##..|.##..",
    ",": ".....|.....|.....|.....|.##..|..#..|.#...",
    "!": "..#..|..#..|..#..|..#..|..#..|.....|..#..",
    "?": ".###.|#...#|....#|...#.|..#..|.....|..#..",
    "'": "..#..|..#..|.#...|.....|.....|.....|.....",
    '"': ".#.#.|.#.#.|.....|.....|.....|.....|.....",
    "-": ".....|.....|.....|.###.|.....|.....|.....",
    ":": ".....|.##..|.##..|.....|.##..|.##..|.....",
    ";": ".....|.##..|.##..|.....|.##..|..#..|.#...",
    "(": "...#.|..#..|.#...|.#...|.#...|..#..|...#.",
    ")": ".#...|..#..|...#.|...#.|...#.|..#..|.#...",
    "/": "....#|....#|...#.|..#..|.#...|#....|#....",
    "&": ".##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#",
    "+": ".....|..#..|..#..|#####|..#..|..#..|.....",
    "=": ".....|.....|#####|.....|#####|.....|.....",
    "%": "##..#|##..#|...#.|..#..|.#...|#..##|#..##",
    "#": ".#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#.",
    "*": ".....|..#..|#.#.#|.###.|#.#.#|..#..|.....",
    "_": ".....|.....|.....|.....|.....|.....|#####",
}
_MISSING = "#####|#...#|#...#|#...#|#...#|#...#|#####"
WIDTH, HEIGHT = 5, 7  # pixels of a glyph; a character cell adds one column and one row of space
CELL_W, CELL_H = WIDTH + 1, HEIGHT + 1


def printable(text: str) -> str:
    """`text` as the font can draw it: accents dropped, capitals, whitespace collapsed."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(text.upper().split())


def rows(char: str) -> list[str]:
    """The glyph of `char`, top row first, "#" = ink."""
    return _GLYPHS.get(char.upper(), _MISSING).split("|")


@lru_cache(maxsize=256)
def runs(char: str) -> tuple[tuple[int, int, int], ...]:
    """The glyph as horizontal runs of ink, (row, first column, length): what a renderer fills."""
    out = []
    for r, pixels in enumerate(rows(char)):
        c = 0
        while c < WIDTH:
            if pixels[c] == "#":
                end = pixels.find(".", c)
                end = WIDTH if end < 0 else end
                out.append((r, c, end - c))
                c = end
            else:
                c += 1
    return tuple(out)


def wrap(text: str, width: int, lines: int) -> list[str]:
    """Words of `text` in at most `lines` lines of at most `width` characters; "..." marks a cut."""
    out: list[str] = []
    line = ""
    for word in printable(text).split():
        while len(word) > width:  # a word longer than a line is split
            if line:
                out.append(line)
                line = ""
            out.append(word[:width])
            word = word[width:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            out.append(line)
            line = word
    if line:
        out.append(line)
    if len(out) > lines:
        out, last = out[:lines], out[lines - 1]
        while len(last) > width - 3 and " " in last:  # cut between words where one fits
            last = last.rsplit(" ", 1)[0]
        out[-1] = last[: width - 3] + "..."
    return out
