"""Pure domain: events, job state, the state machine, and decide/evolve.

Nothing here performs I/O, reads the clock, or knows about HTTP or databases.
"""
