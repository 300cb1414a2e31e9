"""Who stays: seller size distributions, entry-threshold sweeps and cohort dynamics."""
