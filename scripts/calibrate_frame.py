"""Job: subtract the overscan of one raw frame, trim it, write a float FITS; for a frame
chosen by apply.select, subtract its master bias too.

Run by the rules calibrate_frame and debias_frame as a command line::

    python calibrate_frame.py RAW OUTPUT LOG SETTINGS

SETTINGS is JSON: ``layout``, ``extensions``, ``dtype``, ``fingerprint``, ``name`` and, to
debias, ``master`` (the fields of :class:`masterbias.task_calibrate.MasterBias`; see
:func:`masterbias.task_calibrate.calibrate_file`).
"""

import json
import sys

from masterbias.jobs import run_job
from masterbias.task_calibrate import MasterBias, calibrate_file


def main(argv):
    raw, output, log, settings = argv
    settings = json.loads(settings)
    master = MasterBias(**settings["master"]) if "master" in settings else None
    run_job(
        lambda logger: calibrate_file(
            raw,
            output,
            settings["layout"],
            settings["extensions"],
            settings["dtype"],
            settings["fingerprint"],
            logger,
            settings["name"],
            master,
        ),
        "debias_frame" if master else "calibrate_frame",
        log,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
