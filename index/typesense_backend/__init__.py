"""The distributed backend: an archive kept in a Typesense cluster.

For an archive that outgrows one machine, or that must keep serving when a machine goes
down (a three-node cluster elects a new leader and goes on). Precis still does everything
that is not search: articles are cleaned, digested and placed in their stories by the same
ingest, and stored whole; Typesense holds one document per paragraph, searched, filtered,
faceted and grouped by article, and one record per article.

Typesense 0.24 does not stem, so each paragraph also carries its terms (`index.terms`),
which queries are matched against: the same pipeline as the Whoosh backend, so the same
words match. `docs/scaling.md` says what differs from the Whoosh backend.
"""

from .store import TypesenseArchive

__all__ = ["TypesenseArchive"]
