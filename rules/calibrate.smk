rule calibrate_frame:
    input:
        raw=raw_bias,
    output:
        calibrated=f"{OUT}/calibrated/{{name}}",
    log:
        f"{OUT}/logs/calibrate_frame/{{name}}.log",
    benchmark:
        f"{OUT}/benchmarks/calibrate_frame/{{name}}.tsv"
    wildcard_constraints:
        name="[^/]+",
    conda:
        "../envs/masterbias.yaml"
    threads: 1
    resources:
        mem_mb=calibrate_mem_mb,
        runtime=calibrate_runtime,
    params:
        layout=layout_params(),
        dtype=config["output_dtype"],
        code=script_digest("calibrate_frame.py"),
    script:
        "../scripts/calibrate_frame.py"
