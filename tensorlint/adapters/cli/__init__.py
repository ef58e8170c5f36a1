"""The `tensorlint` command line."""
