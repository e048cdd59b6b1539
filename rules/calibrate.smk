rule calibrate_frame:
    input:
        raw=raw_frame,
    output:
        calibrated=path("calibrated"),
    log:
        log_path("calibrate_frame/{frame}"),
    benchmark:
        benchmark_path("calibrate_frame/{frame}")
    conda:
        "../envs/masterbias.yaml"
    threads: 1
    resources:
        mem_mb=RESOURCES.calibrate_mem_mb,
        runtime=RESOURCES.calibrate_runtime,
    params:
        layout=LAYOUT,
        extensions=config["extensions"],
        dtype=config["output_dtype"],
        raw=raw_fingerprint,
        code=script_digest("calibrate_frame.py"),
    script:
        "../scripts/calibrate_frame.py"
