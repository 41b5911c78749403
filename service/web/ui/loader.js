// Loading a view's data while live changes keep arriving. A change seen while a load is in
// flight may be newer than what the server answered, so it is held and applied after the
// load; a load overtaken by a newer one is dropped.

export class Loader {
  constructor({ load, apply, failed }) {
    this.steps = { load, apply, failed };
    this.generation = 0;
    this.loading = false;
    this.held = [];
  }

  async run() {
    const mine = ++this.generation;
    this.loading = true;
    let data;
    try {
      data = await this.steps.load();
    } catch (error) {
      if (mine === this.generation) this.steps.failed(error);
    }
    if (mine !== this.generation) return;
    if (data !== undefined) this.steps.apply(data);
    this.loading = false;
    const held = this.held;
    this.held = [];
    held.forEach((change) => change());
  }

  // Returns true if `change` was held for after the load in flight (the caller does nothing now).
  hold(change) {
    if (this.loading) this.held.push(change);
    return this.loading;
  }

  get current() {
    return this.generation;
  }
}
