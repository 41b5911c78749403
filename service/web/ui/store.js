// What the page knows: job documents by id, and the job types seen. A document replaces
// another only if it is newer (its `position` is the log position of the job's latest event),
// so fetched pages and live events may arrive in any order.

const MAX_JOBS = 5000;

export class JobStore {
  constructor() {
    this.jobs = new Map();
    this.listeners = new Set();
  }

  get(id) {
    return this.jobs.get(id);
  }

  put(job) {
    const known = this.jobs.get(job.id);
    if (known && known.position >= job.position) return known;
    this.jobs.delete(job.id);
    this.jobs.set(job.id, job);
    if (this.jobs.size > MAX_JOBS) this.jobs.delete(this.jobs.keys().next().value);
    for (const listener of this.listeners) listener(job, known);
    return job;
  }

  listen(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export class TypeSet {
  constructor() {
    this.names = new Set();
    this.listeners = new Set();
  }

  add(...names) {
    const fresh = names.filter((name) => !this.names.has(name));
    if (!fresh.length) return;
    fresh.forEach((name) => this.names.add(name));
    for (const listener of this.listeners) listener(this.sorted());
  }

  sorted() {
    return [...this.names].sort();
  }

  listen(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
