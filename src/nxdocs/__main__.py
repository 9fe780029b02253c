"""`python -m nxdocs`: the `nxdocs` command, for a child process run by this interpreter."""

from nxdocs.command import main

main()
