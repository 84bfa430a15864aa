"""Piccolo's configuration module (``PICCOLO_CONF=core.piccolo_conf``).

``DB`` starts as the engine named by the environment so that ``piccolo`` commands work from a
shell; the app and the tests replace it at run time through :func:`core.db.use_engine`.
"""

from piccolo.conf.apps import AppRegistry

from core.db import CORE_APPS, engine_from_url
from core.settings import Settings

DB = engine_from_url(Settings.from_env().database_url)

APP_REGISTRY = AppRegistry(apps=list(CORE_APPS))
