"""`python -m nxdocs`: the `nxdocs` command, for a child process run by this interpreter."""

from nxdocs.cli import main

main()
