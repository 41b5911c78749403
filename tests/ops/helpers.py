"""Helpers for the operations tests: scraping /metrics over HTTP and reading its samples."""

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """One scrape of /metrics: sample values by name and labels."""

    def __init__(self, text: str):
        self.samples = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 if it is not there (a counter or histogram series not yet created)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def labels(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for sample, labels in self.samples if sample == name]


async def scrape(client) -> Scrape:
    resp = await client.get("/metrics")
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    return Scrape(await resp.text())


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)
