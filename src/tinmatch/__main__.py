"""`python -m tinmatch`."""

from tinmatch.cli import main

main()
