"""Starts moto's server with its request recorder made safe for concurrent requests.

moto appends each recorded request to one file in two buffered writes, from
whichever server thread handled it; two requests in flight at once (the deploy
sends its LIST and its state GET together, and uploads 32 at a time) can
interleave their lines and the harness would lose both. One lock around the
append and the download keeps every line whole and every download at a line
boundary. Arguments are moto_server's.
"""

import threading

from moto.moto_api._internal.recorder.models import Recorder
from moto.server import main

_lock = threading.Lock()


def _locked(method):
    def call(*args, **kwargs):
        with _lock:
            return method(*args, **kwargs)

    return call


Recorder._record_request = _locked(Recorder._record_request)
Recorder.download_recording = _locked(Recorder.download_recording)

if __name__ == "__main__":
    main()
