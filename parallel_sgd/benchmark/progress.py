"""Progress bars for benchmark runs: one tqdm bar per run, on stderr.

A bar appears only once its run has lasted a second (tqdm's ``delay``), and
never when the stream is not a terminal or the user asked for quiet.
"""
import sys


class ProgressBars:
    """Per-run progress in passes, fed with trace rows.

    Parameters
    ----------
    n_epochs : float
        Passes each run makes (the bar's total).
    n_repeats : int
        Repeats per entry (shown in the bar's label).
    enabled : bool, optional
        Default: only when ``stream`` is a terminal.
    stream : file, optional
        Default ``sys.stderr``.
    """

    def __init__(self, n_epochs, n_repeats=1, enabled=None, stream=None):
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.n_epochs = float(n_epochs)
        self.n_repeats = n_repeats
        self.bar = None

    def start(self, name, repeat):
        """Close the previous bar and open one for ``name``'s repeat ``repeat``."""
        self.close()
        if not self.enabled:
            return
        from tqdm import tqdm
        label = name if self.n_repeats == 1 else f"{name} [{repeat + 1}/{self.n_repeats}]"
        self.bar = tqdm(total=self.n_epochs, desc=label, unit="pass", delay=1.0, leave=False,
                        file=self.stream, bar_format="{l_bar}{bar}| {n:.3g}/{total:g} passes "
                                                     "[{elapsed}<{remaining}]")

    def update(self, row):
        """Advance the bar to the row's epoch; never asks the solver to stop."""
        epoch = row.get("epoch")
        if self.bar is not None and epoch == epoch and epoch is not None:
            self.bar.update(min(float(epoch), self.n_epochs) - self.bar.n)
        return False

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
