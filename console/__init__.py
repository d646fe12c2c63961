"""The application core: site, rules, alarms, storage, CLI. No Qt."""
