"""The plugin author's kit: `yishi plugin new` (scaffold.py) writes a practice plugin package that
installs and runs as generated; templates.py checks that the templates a plugin refers to exist
(used at load and by `yishi plugin check`)."""
