#!/usr/bin/env bash
# <swiftbar.title>clipsync</swiftbar.title>
# <swiftbar.desc>clipsync's state in the menu bar: peers, the clip, pause/resume, recent clips.</swiftbar.desc>
# <swiftbar.type>streamable</swiftbar.type>
# <swiftbar.hideRunInTerminal>true</swiftbar.hideRunInTerminal>
#
# A SwiftBar streamable plugin: clipsync pushes a new menu each time its status changes (no
# polling). Copy it into SwiftBar's plugin folder and make it executable. SwiftBar starts plugins
# with a short PATH: set CLIPSYNC to the full path of clipsync if it is not found.
CLIPSYNC="${CLIPSYNC:-$(command -v clipsync || echo /usr/local/bin/clipsync)}"
exec "$CLIPSYNC" status --watch --format xbar
