"""`python -m configurator.cli`: the `configure` command."""

from configurator.cli.commands import main

raise SystemExit(main())
