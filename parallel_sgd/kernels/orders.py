"""Row orders drawn inside the kernels: a full Fisher-Yates shuffle, and the "blocks"
order (a random order of equal blocks of rows, the rows shuffled within each block)."""
from .._jit import jit


@jit
def shuffle(rng, rows):
    """Fisher-Yates shuffle of ``rows`` in place with the NumPy Generator ``rng``,
    drawing ``floor(u (i + 1))`` from one double per element (bias below 2^-52),
    which is faster than ``Generator.shuffle`` (BENCHMARKS.md, Hogwild!)."""
    for i in range(rows.shape[0] - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        rows[i], rows[j] = rows[j], rows[i]


@jit
def shuffle_blocks(rng, rows, block):
    """Shuffle ``rows`` in place as blocks of ``block`` entries: the full blocks trade
    places (Fisher-Yates over blocks), then every block, the short last one included,
    is shuffled within. The short last block stays last, so an array of whole blocks
    of consecutive rows stays one after every call; ``block <= 1`` is :func:`shuffle`."""
    n = rows.shape[0]
    if block <= 1:
        shuffle(rng, rows)
        return
    full = n // block
    for i in range(full - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        if j != i:
            a, c = i * block, j * block
            for k in range(block):
                rows[a + k], rows[c + k] = rows[c + k], rows[a + k]
    for start in range(0, n, block):
        shuffle(rng, rows[start:min(start + block, n)])
