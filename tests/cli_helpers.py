"""Running the `psgd` command in-process."""
from parallel_sgd.cli import main


def run(argv, capsys):
    """``main(argv)`` with every argument as a string; returns (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
