"""Charts: functions that return matplotlib Figures, themed alike (see :mod:`.theme`)."""
