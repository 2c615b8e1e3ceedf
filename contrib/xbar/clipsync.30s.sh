#!/usr/bin/env bash
# <xbar.title>clipsync</xbar.title>
# <xbar.desc>clipsync's state in the menu bar: peers, the clip, pause/resume, recent clips.</xbar.desc>
# <xbar.dependencies>clipsync</xbar.dependencies>
#
# An xbar plugin, refreshed every 30 s (the file name says so) and after each menu action.
# (SwiftBar users: contrib/swiftbar/clipsync.sh follows changes live instead.) xbar starts plugins
# with a short PATH: set CLIPSYNC to the full path of clipsync if it is not found.
CLIPSYNC="${CLIPSYNC:-$(command -v clipsync || echo /usr/local/bin/clipsync)}"
"$CLIPSYNC" status --format xbar
# Exit 3 (daemon not running) still printed a menu that says so: not an error for xbar.
exit 0
