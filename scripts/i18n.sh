#!/usr/bin/env bash
# Extract translatable messages of core/, the shared TOML specs (forms/) and the bundled plugins (plugins/*/yishi_*/, see babel.cfg)
# into core/locale/messages.pot and merge them into every locale's messages.po.
# Add a locale with: .venv/bin/pybabel init -i core/locale/messages.pot -d core/locale -l LOCALE
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg --no-location --sort-output --project Yishi -o core/locale/messages.pot core forms plugins
for po in core/locale/*/LC_MESSAGES/messages.po; do
  [ -e "$po" ] || continue
  .venv/bin/pybabel update --no-fuzzy-matching --ignore-obsolete -i core/locale/messages.pot -d core/locale \
    -l "$(basename "$(dirname "$(dirname "$po")")")"
done
