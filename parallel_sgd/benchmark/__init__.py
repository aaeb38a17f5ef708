"""Running drivers and peers side by side on one problem: the runner, result files,
tables, figures, progress bars, suites of runs, the ranking bench and the peers."""
