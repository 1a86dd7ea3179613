#!/usr/bin/env python3
"""Every link in the project's documentation points inside the repository, at a file that exists.

Checks README.md, every other Markdown file outside build and cache folders, and the DocC
catalogs: Markdown links and images ([text](target)) must be relative paths that resolve to an
existing file or folder within the repository (an optional #anchor is allowed); links to web
pages or to files outside the repository are errors. DocC's <doc:Name> links must name an
article of the same catalog. Prints every bad link and exits 1 if there is any."""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SKIP_DIRS = {".build", ".cache", ".git", ".swiftpm", "node_modules", "__pycache__"}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
DOC_LINK = re.compile(r"<doc:([A-Za-z0-9_\-]+)>")
FENCE = re.compile(r"^\s*```")


def markdown_files():
    for base, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".build")]
        for f in files:
            if f.endswith(".md"):
                yield os.path.join(base, f)


def links(path):
    """(line number, target) of every link outside fenced code blocks and inline code."""
    in_fence = False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if FENCE.match(line):
                in_fence = not in_fence
                continue
            if in_fence:
                continue
            text = re.sub(r"`[^`]*`", "", line)
            for m in LINK.finditer(text):
                yield n, "md", m.group(1)
            for m in DOC_LINK.finditer(text):
                yield n, "doc", m.group(1)


def main():
    bad = []
    count = 0
    for path in sorted(markdown_files()):
        rel = os.path.relpath(path, ROOT)
        for n, kind, target in links(path):
            count += 1
            where = f"{rel}:{n}"
            if kind == "doc":
                catalog = os.path.dirname(path)
                if not os.path.exists(os.path.join(catalog, target + ".md")):
                    bad.append(f"{where}: <doc:{target}> names no article in {os.path.relpath(catalog, ROOT)}")
                continue
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
                bad.append(f"{where}: {target} leaves the repository")
                continue
            file_part = target.split("#", 1)[0]
            if not file_part:
                continue  # an anchor in the same file
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part))
            if not (resolved == ROOT or resolved.startswith(ROOT + os.sep)):
                bad.append(f"{where}: {target} points outside the repository")
            elif not os.path.exists(resolved):
                bad.append(f"{where}: {target} does not exist")
    for b in bad:
        print(b)
    print(f"doc links: {count} checked, {len(bad)} bad")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
