"""The bottom layer: what every other package may import, and which imports nothing of the
project — the canonical item (items), the configuration (config, read through yamlsafe),
the errors a user can act on (errors), business time and calendars (businesstime) and the
project's shared vocabulary (vocabulary: platforms, finding categories, severities,
routes and statuses). See docs/architecture.md."""
