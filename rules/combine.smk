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
    wildcard_constraints:
        group=slots_pattern(whole=True),
    conda:
        "../envs/masterbias.yaml"
    threads: RESOURCES.combine_threads
    resources:
        mem_mb=RESOURCES.combine_mem_mb,
        runtime=RESOURCES.combine_runtime,
    params:
        frames=frame_times,
        combine=COMBINE,
        seal=group_seal_param,
        code=script_digest("combine_biases.py"),
    script:
        "../scripts/combine_biases.py"


rule combine_extensions:
    input:
        calibrated=calibrated_frames,
    output:
        master=temp(path("master_part")),
        record=temp(path("record_part")),
    log:
        log_path("combine_extensions{group}.{part}"),
    benchmark:
        benchmark_path("combine_extensions{group}.{part}")
    wildcard_constraints:
        group=slots_pattern(whole=False),
    conda:
        "../envs/masterbias.yaml"
    threads: RESOURCES.combine_threads
    resources:
        mem_mb=RESOURCES.combine_mem_mb,
        runtime=RESOURCES.combine_runtime,
    params:
        frames=frame_times,
        combine=COMBINE,
        extensions=part_extensions,
        code=script_digest("combine_biases.py"),
    script:
        "../scripts/combine_biases.py"


rule assemble_master:
    input:
        parts=master_parts,
        records=record_parts,
    output:
        master=path("master"),
        record=path("combine_record"),
    log:
        log_path("assemble_master{group}"),
    benchmark:
        benchmark_path("assemble_master{group}")
    wildcard_constraints:
        group=slots_pattern(whole=False),
    conda:
        "../envs/masterbias.yaml"
    resources:
        mem_mb=RESOURCES.assemble_mem_mb,
    params:
        seal=group_seal_param,
        code=script_digest("assemble_master.py"),
    script:
        "../scripts/assemble_master.py"
