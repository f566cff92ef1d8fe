"""Reading the state of experiments: returns data, never prints."""
