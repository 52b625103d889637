// Work for the model, one run at a time: a newer request of a kind replaces the one still waiting, so a fast
// cursor never builds a queue, and kinds earlier in `order` go first.

export class Latest {
  // handlers: {kind: async (job) => ...}, tried in the order given.
  constructor(handlers) {
    this.handlers = handlers;
    this.order = Object.keys(handlers);
    this.waiting = Object.fromEntries(this.order.map((k) => [k, null]));
    this.busy = false;
  }

  request(kind, job) {
    this.waiting[kind] = job;
    if (!this.busy) this.pump();
  }

  async pump() {
    this.busy = true;
    try {
      for (let kind = this.next(); kind; kind = this.next()) {
        const job = this.waiting[kind];
        this.waiting[kind] = null;
        await this.handlers[kind](job);
      }
    } finally {
      this.busy = false;
    }
  }

  next() { return this.order.find((k) => this.waiting[k] !== null); }
}
