rule combine_biases:
    input:
        calibrated=calibrated_frames,
    output:
        master=path("master"),
        record=path("combine_record"),
    log:
        log_path("combine_biases{group}"),
    benchmark:
        benchmark_path("combine_biases{group}")
    conda:
        "../envs/masterbias.yaml"
    threads: RESOURCES.combine_threads
    resources:
        mem_mb=RESOURCES.combine_mem_mb,
        runtime=RESOURCES.combine_runtime,
    params:
        frames=frame_times,
        combine={
            key: config["combine"][key]
            for key in ("method", "reject", "reject_frames")
        },
        code=script_digest("combine_biases.py"),
    script:
        "../scripts/combine_biases.py"
