#!/usr/bin/env bash
# Install nbstripout as the git filter of notebooks in the current git work tree (run by
# `make setup`): `git add` stores a notebook without outputs, execution counts or run-time
# metadata, whatever JupyterLab saved into the working copy, and `git diff` compares notebooks
# the same way. Cell ids are kept (--keep-id), so notebooks already committed are unchanged.
# .gitattributes (committed) maps *.ipynb to the filter; without this config git ignores it.
# Usage: tools/git-filters.sh PYTHON   (the interpreter that has nbstripout installed)
set -euo pipefail
python="${1:?usage: tools/git-filters.sh PYTHON}"
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "tools/git-filters.sh: not a git work tree; no notebook filter installed" >&2
  exit 0
fi
strip="\"$(cd "$(dirname "$python")" && pwd)/$(basename "$python")\" -m nbstripout --keep-id"
git config filter.nbstripout.clean "$strip"
git config filter.nbstripout.smudge cat
git config filter.nbstripout.required true
git config diff.ipynb.textconv "$strip -t"
