"""Seeded scenes on a 3x3 grid and their rendering.

Each shape has a "typical" colour that it takes more often than chance: that is the language
prior a generator can lean on instead of looking (a popular hallucination in POPE's sense).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SIZE = 48  # the tiny LLaVA's image size: a 3x3 grid of 16-px cells, one vision patch each
CELL = SIZE // 3
SHAPES = ("square", "circle", "triangle", "cross")
COLOURS = {"red": (215, 45, 45), "green": (45, 165, 65), "blue": (45, 85, 215),
           "yellow": (230, 200, 35), "purple": (140, 60, 175), "orange": (240, 135, 30)}
TYPICAL = {"square": "red", "circle": "blue", "triangle": "green", "cross": "yellow"}
TYPICAL_P = 0.4  # chance an object has its shape's typical colour (1/6 would be no prior)
SIZES = ("small", "large")
ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "centre", "right")
BACKGROUND = (240, 240, 236)
MAX_OBJECTS = 4


def position_words(row: int, col: int) -> str:
    return "centre" if (row, col) == (1, 1) else f"{ROWS[row]} {COLUMNS[col]}"


@dataclass(frozen=True)
class Obj:
    shape: str
    colour: str
    size: str
    row: int
    col: int

    @property
    def position(self) -> str:
        return position_words(self.row, self.col)

    def to_json(self) -> dict:
        return {"shape": self.shape, "colour": self.colour, "size": self.size, "row": self.row,
                "col": self.col, "position": self.position}

    @staticmethod
    def from_json(d: dict) -> "Obj":
        return Obj(d["shape"], d["colour"], d["size"], d["row"], d["col"])


def draw_colour(rng: random.Random, shape: str) -> str:
    if rng.random() < TYPICAL_P:
        return TYPICAL[shape]
    return rng.choice([c for c in COLOURS if c != TYPICAL[shape]])


def draw_scene(rng: random.Random) -> list[Obj]:
    """1-4 objects with distinct shapes (so "the square" names one object) in distinct cells."""
    count = rng.randint(1, MAX_OBJECTS)
    shapes = rng.sample(SHAPES, count)
    cells = rng.sample([(r, c) for r in range(3) for c in range(3)], count)
    objects = [Obj(s, draw_colour(rng, s), rng.choice(SIZES), r, c) for s, (r, c) in zip(shapes, cells)]
    return sorted(objects, key=lambda o: (o.row, o.col))


def render(objects: list[Obj], rng: random.Random) -> Image.Image:
    """Jittered position and colour, two sizes, pixel noise: recognising needs looking, not a lookup."""
    image = Image.new("RGB", (SIZE, SIZE), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for obj in objects:
        margin = 1 if obj.size == "large" else 4
        dx, dy = rng.randint(-1, 1), rng.randint(-1, 1)
        x0, y0 = obj.col * CELL + margin + dx, obj.row * CELL + margin + dy
        x1, y1 = x0 + CELL - 1 - 2 * margin, y0 + CELL - 1 - 2 * margin
        fill = tuple(max(0, min(255, v + rng.randint(-18, 18))) for v in COLOURS[obj.colour])
        if obj.shape == "square":
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        elif obj.shape == "circle":
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif obj.shape == "triangle":
            draw.polygon([((x0 + x1) / 2, y0), (x0, y1), (x1, y1)], fill=fill)
        else:  # cross
            w = max(2, (x1 - x0) // 3)
            cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
            draw.rectangle((cx - w // 2, y0, cx + w - w // 2 - 1, y1), fill=fill)
            draw.rectangle((x0, cy - w // 2, x1, cy + w - w // 2 - 1), fill=fill)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, 6, (SIZE, SIZE, 1))
    pixels = np.asarray(image, dtype=np.float32) + noise
    image = Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))
    return image


def scene_rng(seed: int, split: str, index: int) -> random.Random:
    """Scene `index` of a split depends only on (seed, split, index): splits never share scenes'
    random streams, and a larger split extends a smaller one."""
    return random.Random(f"c3l-world/{seed}/{split}/{index}")
