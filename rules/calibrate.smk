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
        settings=frame_settings,
        code=script_digest("calibrate_frame.py"),
    # a command line, not script:, because this job runs once per raw frame: script:
    # imports Snakemake in every job (~0.1 s, as much as the calibration of a frame)
    shell:
        job_command("calibrate_frame.py")
        + " {input.raw:q} {output.calibrated:q} {log:q} {params.settings:q}"


rule debias_frame:
    input:
        raw=applied_raw,
        master=chosen_master,
    output:
        debiased=path("debiased"),
    log:
        log_path("debias_frame/{frame}"),
    benchmark:
        benchmark_path("debias_frame/{frame}")
    conda:
        "../envs/masterbias.yaml"
    threads: 1
    resources:
        mem_mb=RESOURCES.debias_mem_mb,
        runtime=RESOURCES.debias_runtime,
    params:
        settings=debias_settings,
        code=script_digest("calibrate_frame.py"),
    # the frame job's command and code: the same overscan and trim, then the master
    shell:
        job_command("calibrate_frame.py")
        + " {input.raw:q} {output.debiased:q} {log:q} {params.settings:q}"
