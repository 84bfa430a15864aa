"""Built-in voting rule profiles (TOML), read by core.voting.loader.shared_rules()."""
