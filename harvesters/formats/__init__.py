"""One module per metadata format: how its records map onto our profile."""
