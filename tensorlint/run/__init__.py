"""Running checks over many files: inputs, the cache, the project run and its replay."""
