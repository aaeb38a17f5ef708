"""Writing files so that a crash or Ctrl-C never leaves a half-written one behind."""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

# mkstemp creates files readable by their owner only; a finished file gets the
# permissions a plain open() would have given it. The umask can only be read by
# setting it, so it is read once, at import time.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """Open a temporary file beside ``path``; it replaces ``path`` only if the block succeeds.

    On any error (including KeyboardInterrupt) the temporary file is removed and
    ``path`` keeps its previous content, if it had one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
