"""Organisation: the unit tree, councils, people and council membership."""
