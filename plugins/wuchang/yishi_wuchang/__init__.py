"""屋场恳谈会 (Hunan) — a Yishi practice plugin. The plugin module is ``yishi_wuchang.plugin``."""
