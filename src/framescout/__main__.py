"""``python -m framescout`` runs the command line."""

from framescout.cli import main

main()
