rule qc_frames:
    input:
        calibrated=[f"{OUT}/calibrated/{name}" for name in NIGHT.calibrated_names()],
        rejections=rejection_tables(),
    output:
        frames=report(
            f"{OUT}/qc/frames.csv", caption="../report/frames.rst", category="Tables"
        ),
        night=report(
            f"{OUT}/qc/night.csv",
            caption="../report/night_table.rst",
            category="Tables",
        ),
    log:
        f"{OUT}/logs/qc_frames.log",
    benchmark:
        f"{OUT}/benchmarks/qc_frames.tsv"
    conda:
        "../envs/masterbias.yaml"
    resources:
        mem_mb=qc_mem_mb,
    params:
        gain=config["gain"],
        code=script_digest("qc_frames.py"),
    script:
        "../scripts/qc_frames.py"
