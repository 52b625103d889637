"""A stand-in for a pool's training process: it trains nothing, and the test speaks for it."""


class StandIn:
    """Made as aelib.workers.Worker is; keeps what it was told, says what the test makes it say."""

    made: list["StandIn"] = []

    def __init__(self, on_message, data_root=None, preload=()):
        self.on_message, self.runs, self.stops, self.closed = on_message, [], [], False
        self.pid = 1000 + len(StandIn.made)
        StandIn.made.append(self)

    def train(self, number, spec):
        self.runs.append(number)

    def stop(self, number):
        self.stops.append(number)

    def threads(self, n):
        self.shares = [*getattr(self, "shares", []), n]

    def close(self):
        self.closed = True

    def say(self, kind, number=None, payload=None):
        self.on_message(self, kind, number, payload)
