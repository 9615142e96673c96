"""The embedded backend: an archive kept in a Whoosh index folder on this machine.

Everything here is specific to Whoosh (whoosh3 3.54): the index and its schema (`store`),
search over the generation's arrays (`search`, `tables`, `matching`), folder backups
(`backup`) and the fixes for whoosh3's bugs (`workarounds`). No module outside this package
imports `whoosh`.
"""

from .store import WhooshArchive

__all__ = ["WhooshArchive"]
