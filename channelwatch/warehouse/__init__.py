"""The warehouse: schema, migrations, loading and reading.

Public functions: `make_engine(url)`, `upgrade(engine)`, and the loaders in
channelwatch.warehouse.load.
"""

from channelwatch.warehouse.engine import make_engine
from channelwatch.warehouse.migrate import upgrade

__all__ = ["make_engine", "upgrade"]
