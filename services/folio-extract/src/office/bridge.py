# Folio's bridge to a warm LibreOffice (see warm.rs): starts one `soffice` listening on a pipe, then converts
# documents through UNO, one request per line on stdin, one answer per line on stdout (JSON both ways).
#
# Run by folio-extract inside the parser's process, as the leader of a process group of its own that
# soffice joins, so that the parser kills both with one signal. When the parser goes away without doing so
# (killed by its own sandbox), a watch thread sees the parent change and kills the group.
#
# argv: soffice, profile URL, pipe name, seconds allowed for soffice to start.
import json
import os
import signal
import subprocess
import sys
import threading
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

office, profile_url, pipe_name, startup_seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
parent = os.getppid()
if os.getpgid(0) != os.getpid():
    os.setpgid(0, 0)


def end(status):
    """Ends soffice and this bridge: everything in the group."""
    sys.stdout.flush()
    os.killpg(0, signal.SIGKILL)
    sys.exit(status)


def watch_parent():
    while True:
        if os.getppid() != parent:
            end(1)
        time.sleep(0.2)


threading.Thread(target=watch_parent, daemon=True).start()


def answer(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def properties(**values):
    out = []
    for name, value in values.items():
        p = PropertyValue()
        p.Name = name
        p.Value = value
        out.append(p)
    return tuple(out)


soffice = subprocess.Popen(
    [office, "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck", "--nofirststartwizard",
     "-env:UserInstallation=" + profile_url, "--accept=pipe,name=%s;urp;" % pipe_name],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
deadline = time.monotonic() + startup_seconds
context = None
while context is None:
    try:
        context = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe_name)
    except NoConnectException:
        if time.monotonic() > deadline or soffice.poll() is not None:
            answer(error="LibreOffice did not start (exit status %s)" % soffice.poll())
            end(2)
        time.sleep(0.02)
desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
answer(ready=True)

# Loaded read-only and hidden, as `soffice --convert-to` does, with no macro run and no link updated.
NEVER_EXECUTE = 0
NO_UPDATE = 0
for line in sys.stdin:
    request = json.loads(line)
    document = None
    try:
        document = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(request["input"]), "_blank", 0,
            properties(Hidden=True, ReadOnly=True, Silent=True, OpenNewView=True,
                       MacroExecutionMode=NEVER_EXECUTE, UpdateDocMode=NO_UPDATE))
        if document is None:
            answer(error="LibreOffice could not open the document")
            continue
        document.storeToURL(uno.systemPathToFileUrl(request["output"]),
                            properties(FilterName=request["filter"], Overwrite=True))
        answer(ok=True)
    except Exception as e:  # UNO raises its own exception types; each becomes this document's answer
        crashed = soffice.poll() is not None or "Disposed" in type(e).__name__ or "disposed" in str(e)
        answer(error="%s: %s" % (type(e).__name__, str(e)[:500]), crashed=crashed)
        if crashed:
            end(3)
    finally:
        if document is not None:
            try:
                document.close(True)
            except Exception:
                pass
end(0)
