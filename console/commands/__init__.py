"""One module per `nightwatch` subcommand; see `console.cli.COMMANDS`."""
