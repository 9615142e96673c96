"""A three-node Typesense cluster behind the archive loses its leader: searches and writes
go on through the other nodes, and nothing the archive acknowledged is lost."""

from __future__ import annotations

import typesense
from conftest import make_article
from typesense_servers import typesense_cluster, wait_for

from index.archive import open_archive
from index.ingest import store_articles
from index.models import SearchRequest


def report(number: int):
    return make_article(
        f"report-{number:02}",
        f"Harbour report {number}",
        [
            f"Harbour report {number}: the ferry crossing number {number} ran on time "
            f"with {100 + number} passengers aboard.",
            f"Marker{number:02}x was logged by the harbour master on the quay.",
        ],
        date=f"2020-01-{number + 1:02}",
    )


def ids_on(node, api_key: str, collection: str) -> set[str]:
    """The article ids one node holds (read from that node alone)."""
    client = typesense.Client(
        {"nodes": [node.client_node()], "api_key": api_key, "connection_timeout_seconds": 2}
    )
    try:
        text = client.collections[collection].documents.export({"include_fields": "article_id"})
        return {line.split('"article_id":"')[1].split('"')[0] for line in text.splitlines()}
    except Exception:  # a node still catching up
        return set()
    finally:
        client.api_call.close()


def test_the_archive_survives_the_loss_of_its_leader(tmp_path):
    with typesense_cluster(tmp_path / "cluster", size=3) as cluster:
        settings = {
            "backend": "typesense",
            "typesense_nodes": ",".join(node.url for node in cluster.nodes),
            "typesense_api_key": cluster.api_key,
            "typesense_collection": "newsroom",
        }
        archive = open_archive(settings, create=True)
        before = [report(n) for n in range(10)]
        assert store_articles(archive, before).added == [a.id for a in before]

        cluster.kill(cluster.leader())

        # Reads go on at once: followers answer searches while a leader is elected.
        page = archive.search(SearchRequest(query="harbour ferry", group=False))
        assert page.total == 10
        # Writes wait for the new leader, then go on.
        after = [report(n) for n in range(10, 20)]
        assert store_articles(archive, after).added == [a.id for a in after]
        leader = cluster.leader()
        assert leader not in cluster.killed

        acknowledged = {a.id for a in before + after}
        assert set(archive.known()) == acknowledged
        for node in cluster.running():  # followers apply writes late: poll, don't sleep
            wait_for(
                lambda node=node: ids_on(node, cluster.api_key, "newsroom_articles")
                == acknowledged,
                timeout=60,
                message=f"{node.url} holds every acknowledged article",
            )
        found = archive.search(SearchRequest(query="marker19x"))
        assert [result.id for result in found.results] == ["report-19"]
        archive.shutdown()
