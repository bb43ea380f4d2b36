"""Application services: the back-office use cases, over the ports."""
