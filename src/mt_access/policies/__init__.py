"""Built-in plugins: criterion kinds, routers, decision defaults and reference data.

Each module is a plain pluggy plugin listed in :data:`mt_access.plugins.DEFAULT_PLUGINS` and
registered exactly like a third-party CPTS plugin.
"""
