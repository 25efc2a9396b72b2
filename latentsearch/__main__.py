"""``python -m latentsearch`` runs the ``latentsearch`` command."""

from latentsearch.cli import main

if __name__ == "__main__":
    main()
