"""Job: subtract the overscan of one raw bias, trim it, write a float FITS.

Run by the rule calibrate_frame as a command line::

    python calibrate_frame.py RAW OUTPUT LOG SETTINGS

SETTINGS is JSON: ``layout``, ``extensions``, ``dtype``, ``fingerprint`` and ``name`` (see
:func:`masterbias.task_calibrate.calibrate_file`).
"""

import json
import sys

from masterbias.jobs import run_job
from masterbias.task_calibrate import calibrate_file


def main(argv):
    raw, output, log, settings = argv
    settings = json.loads(settings)
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
        ),
        "calibrate_frame",
        log,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
