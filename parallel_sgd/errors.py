"""Exceptions the package raises for bad input, bad configuration and divergence."""


class DataError(ValueError):
    """Input data is malformed: names the file and line, row, field or shape at fault."""


class DivergenceError(ValueError):
    """Training produced non-finite weights; the message suggests what to change."""


def unknown_name(kind, name, known):
    """A ValueError for an unknown option value that lists the accepted ones."""
    choices = ", ".join(sorted(known))
    plural = kind + "es" if kind.endswith("ss") else (kind if kind.endswith("s") else kind + "s")
    return ValueError(f"unknown {kind} {name!r}; known {plural}: {choices}")


def check_choice(kind, name, known):
    """Return ``name`` if it is in ``known``, else raise :func:`unknown_name`."""
    if not isinstance(name, str) or name not in known:
        raise unknown_name(kind, name, known)
    return name
