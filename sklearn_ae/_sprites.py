"""Binary images of shapes with known factors of variation, after dSprites (Matthey et al. 2017).

Each image shows one shape (square, ellipse or heart) at a scale, a rotation
and a position, drawn on the grids of dSprites: 6 scales from 0.5 to 1, 40
rotations over a full turn and 32 positions along each axis. The images are
rendered here, by testing each pixel centre against the shape, so no file is
downloaded. Rows can come in groups that share every factor but one, the
batches the inverse-graphics network (DC-IGN) trains on.
"""

import numpy as np

SHAPES = ("square", "ellipse", "heart")
# The values each factor takes (shape: its index in SHAPES), as in dSprites.
FACTOR_VALUES = (
    np.arange(len(SHAPES), dtype=np.float64),
    np.linspace(0.5, 1.0, 6),
    np.linspace(0.0, 2 * np.pi, 40, endpoint=False),
    np.linspace(0.0, 1.0, 32),
    np.linspace(0.0, 1.0, 32),
)
# Half the width of the largest shape, as a fraction of the image: positions keep every
# shape inside the image whatever its rotation.
_REACH = 0.22


def _inside(shape, u, v):
    """Whether the points (u, v), in the shape's own frame (unit size), lie in the shape."""
    if shape == 0:
        return (np.abs(u) <= 0.7) & (np.abs(v) <= 0.7)
    if shape == 1:
        return (u / 1.0) ** 2 + (v / 0.5) ** 2 <= 1.0
    # A heart: the curve (x^2 + y^2 - 1)^3 = x^2 y^3, scaled to about the square's size.
    x, y = u / 0.75, v / 0.75 + 0.1
    return (x**2 + y**2 - 1) ** 3 - x**2 * y**3 <= 0


def render(factors, image_size):
    """Images of shape (n, image_size * image_size), in {0, 1}, for rows of factor values."""
    centres = (np.arange(image_size) + 0.5) / image_size
    py, px = np.meshgrid(centres, centres, indexing="ij")
    images = np.zeros((len(factors), image_size, image_size))
    for row, (shape, scale, angle, x, y) in enumerate(factors):
        # Pixel centres in the shape's frame: shifted to its centre, turned back, unscaled.
        dx = px - (_REACH + x * (1 - 2 * _REACH))
        dy = py - (_REACH + y * (1 - 2 * _REACH))
        cos, sin = np.cos(angle), np.sin(angle)
        size = _REACH * scale
        u = (cos * dx + sin * dy) / size
        v = (-sin * dx + cos * dy) / size
        images[row] = _inside(int(shape), u, v)
    return images.reshape(len(factors), -1)


# The grid's rotations within a quarter turn: over these, every shape shows each rotation
# differently (a square looks the same a quarter turn on, an ellipse half a turn on).
QUARTER_TURN = len(FACTOR_VALUES[2]) // 4


def draw_factors(n_samples, group_size, rng, linked=False, rotation_range="full"):
    """Rows of factor values; each group of ``group_size`` rows varies one factor only.

    With ``linked``, every group but the first shares its fixed factors with a row drawn
    before it, which so belongs to both groups. ``rotation_range="quarter"`` draws the
    rotation from the grid's first quarter turn only.
    """
    sizes = np.array([len(values) for values in FACTOR_VALUES])
    if rotation_range == "quarter":
        sizes[2] = QUARTER_TURN
    draw = _linked_indices if linked and group_size > 1 else _independent_indices
    indices = draw(-(-n_samples // group_size), group_size, sizes, rng)
    factors = np.column_stack([values[indices[:, j]] for j, values in enumerate(FACTOR_VALUES)])
    return factors[:n_samples]


def _independent_indices(n_groups, group_size, sizes, rng):
    """Grid indices (below ``sizes``) of groups whose fixed factors are drawn afresh."""
    indices = np.column_stack([rng.randint(size, size=n_groups) for size in sizes])
    indices = np.repeat(indices, group_size, axis=0)
    varying = np.repeat(rng.randint(len(sizes), size=n_groups), group_size)
    if group_size > 1:
        indices[np.arange(len(indices)), varying] = rng.randint(sizes[varying])
    return indices


def _linked_indices(n_groups, group_size, sizes, rng):
    """Grid indices of groups that each keep the fixed factors of an earlier row.

    In a grid of renderings, such as the faces DC-IGN trains on, every image lies
    in one group for each factor, so the clamp's invariance carries from group to
    group; groups drawn afresh share rows only by chance, which leaves most groups
    free to code their varying factor their own way.
    """
    indices = np.empty((n_groups * group_size, len(sizes)), dtype=np.int64)
    for start in range(0, len(indices), group_size):
        factor = rng.randint(len(sizes))
        shared = indices[rng.randint(start)] if start else [rng.randint(size) for size in sizes]
        indices[start : start + group_size] = shared
        indices[start : start + group_size, factor] = rng.randint(sizes[factor], size=group_size)
    return indices
