rule combine_biases:
    input:
        calibrated=calibrated_paths,
    output:
        master=master_path(),
        rejections=report(
            f"{OUT}/qc/rejections{group_suffix()}.csv",
            caption="../report/rejections.rst",
            category="Tables",
            subcategory=report_subcategory(),
        ),
    log:
        f"{OUT}/logs/combine_biases{group_suffix()}.log",
    benchmark:
        f"{OUT}/benchmarks/combine_biases{group_suffix()}.tsv"
    wildcard_constraints:
        group="[^/]+",
    conda:
        "../envs/masterbias.yaml"
    threads: combine_threads
    resources:
        mem_mb=combine_mem_mb,
        runtime=combine_runtime,
    params:
        combine=config["combine"],
        code=script_digest("combine_biases.py"),
    script:
        "../scripts/combine_biases.py"
