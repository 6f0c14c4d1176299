"""``python -m botperms.cli``: the same as the ``botperms`` console script."""

from botperms.cli.main import main

main()
