"""The pure core: ticket life cycle, calling rule, wait estimates, hours. Standard library only."""
